"""fptbench harness: plugin APIs, registries, trainer, results store and CLI.

The harness owns the training loop so that accuracy *and* convergence speed are comparable
across every model adapter; tasks and adapters only describe data and networks.
"""

__version__ = "0.1.0"
