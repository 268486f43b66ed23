"""Built-in backbones and model adapters.

Importing the package registers nothing (so ``fptbench --help`` need not import torch); the registries
import ``baselines.plugins`` (declared in the ``fptbench.builtins`` entry points), which imports every
module of the package: adapters and backbones are found, not listed.
"""
