"""Old import name of ``report.paper_values`` (the paper's numbers from the CSV), kept for modules rewritten
concurrently (report/claims/evidence.py). Delete once nothing imports ``report.paper``."""

from .paper_values import SOURCES, PaperValue, paper_path, paper_value

__all__ = ["SOURCES", "PaperValue", "paper_path", "paper_value"]
