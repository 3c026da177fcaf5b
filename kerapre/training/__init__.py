"""Pieces every training run shares: callbacks, backups and optimizers."""

from kerapre.training.backup import RunBackup, StopOnNaN
from kerapre.training.callbacks import StepTimer, standard_callbacks
from kerapre.training.optimizers import make_optimizer
from kerapre.training.schedules import WarmupLinearDecay

__all__ = ["RunBackup", "StepTimer", "StopOnNaN", "WarmupLinearDecay", "make_optimizer", "standard_callbacks"]
