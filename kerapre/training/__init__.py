"""Pieces every training run shares: callbacks and optimizers."""

from kerapre.training.callbacks import standard_callbacks
from kerapre.training.optimizers import make_optimizer

__all__ = ["make_optimizer", "standard_callbacks"]
