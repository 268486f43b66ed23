"""Built-in sweep grids (TOML package data): ``fptbench sweep --grid NAME`` finds them by file stem.

- ``cpu-lr``: the learning-rate protocol on the cpu stand-in (MiniLM for GPT-2), small enough for a
  laptop; shows the method, not the paper's numbers.
- ``paper-lr``: the re-evaluation's protocol (Rothermel et al. 2021) at the paper's budgets, for a
  GPU cluster: a log grid of learning rates from 1e-6 to 1e-2, three seeds, selection on validation.
"""
