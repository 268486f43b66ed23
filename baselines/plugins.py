"""Built-in backbones and model adapters. Importing this module registers them (declared in pyproject.toml)."""

from . import backbones, fpt, lstm  # noqa: F401
from . import bitmem_pretrained, dinov2, reservoir, statistics, vit  # noqa: F401  (pretraining-modality baselines, issue 4)
from . import controls  # noqa: F401  (no-body controls for the transfer gain, issue 13)
