"""Optimizers by name, from a ``TrainConfig``."""

import keras

from kerapre.errors import ConfigError


def make_optimizer(train_config, learning_rate=None):
    """The optimizer named by ``train_config.optimizer`` (``adam``, ``adamw`` or ``sgd``).

    AdamW leaves LayerNorm scales and offsets and every bias out of weight decay, as BERT
    does. A ``clipnorm`` field on the config clips the global gradient norm.

    Args:
        train_config: a ``TrainConfig`` or ``BertTrainConfig``.
        learning_rate: a float or a schedule overriding ``train_config.learning_rate``.
    """
    lr = train_config.learning_rate if learning_rate is None else learning_rate
    name = train_config.optimizer
    clip = {"global_clipnorm": train_config.clipnorm} if getattr(train_config, "clipnorm", None) else {}
    if name == "adam":
        return keras.optimizers.Adam(lr, **clip)
    if name == "adamw":
        optimizer = keras.optimizers.AdamW(lr, weight_decay=train_config.weight_decay, **clip)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return optimizer
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, **clip)
    raise ConfigError(f"unknown optimizer {name!r}: choose adam, adamw or sgd")
