"""Example fptbench plugin: one model adapter (``example-gru``), registered by entry point only."""

from .gru import TinyGRU

__all__ = ["TinyGRU"]
