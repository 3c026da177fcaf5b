"""Pieces every training run shares: callbacks and optimizers."""

from kerapre.training.callbacks import StepTimer, standard_callbacks
from kerapre.training.optimizers import make_optimizer
from kerapre.training.schedules import WarmupLinearDecay

__all__ = ["StepTimer", "WarmupLinearDecay", "make_optimizer", "standard_callbacks"]
