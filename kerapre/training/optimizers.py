"""Optimizers by name, from a ``TrainConfig``."""

import keras

from kerapre.errors import ConfigError


def make_optimizer(train_config, learning_rate=None):
    """The optimizer named by ``train_config.optimizer`` (``adam``, ``adamw`` or ``sgd``).

    Args:
        train_config: a ``kerapre.config.TrainConfig``.
        learning_rate: a float or a schedule overriding ``train_config.learning_rate``.
    """
    lr = train_config.learning_rate if learning_rate is None else learning_rate
    name = train_config.optimizer
    if name == "adam":
        return keras.optimizers.Adam(lr)
    if name == "adamw":
        optimizer = keras.optimizers.AdamW(lr, weight_decay=train_config.weight_decay)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return optimizer
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9)
    raise ConfigError(f"unknown optimizer {name!r}: choose adam, adamw or sgd")
