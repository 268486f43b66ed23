"""Rendering of tables and figures from the harness's Parquet results (never typed by hand)."""
