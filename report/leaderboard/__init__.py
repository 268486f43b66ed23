"""The static leaderboard site (``fptbench leaderboard``): data aggregation, HTML, site writer."""

from .data import Leaderboard, build_leaderboard
from .site import build_site

__all__ = ["Leaderboard", "build_leaderboard", "build_site"]
