"""Compiling a model the way every kerapre run does: the run's XLA and steps-per-call settings."""

import keras

from kerapre.distribute import resolve_jit_compile, steps_per_execution
from kerapre.training.optimizers import make_optimizer


def compile_model(model, train_config, *, optimizer=None, learning_rate=None, steps_per_call=None, **compile_args):
    """Compiles ``model`` with ``train_config``'s optimizer (or ``optimizer``), ``jit_compile``
    (``auto`` resolved by ``distribute.choose_jit_compile``) and ``steps_per_execution``; call
    inside ``strategy.scope()``.

    Args:
        model: the Keras model.
        train_config: a ``train`` section (its ``optimizer``, ``learning_rate``,
            ``jit_compile`` and ``steps_per_execution``).
        optimizer: an optimizer to use instead of ``make_optimizer(train_config, learning_rate)``.
        learning_rate: a float or schedule overriding ``train_config.learning_rate``.
        steps_per_call: already resolved for the strategy (``distribute.steps_per_execution``);
            default: ``train_config.steps_per_execution`` resolved now.
        **compile_args: ``loss``, ``metrics`` and the rest, as for ``Model.compile``.
    """
    model.compile(
        optimizer=optimizer or make_optimizer(train_config, learning_rate),
        jit_compile=resolve_jit_compile(train_config.jit_compile),
        steps_per_execution=steps_per_call or steps_per_execution(train_config.steps_per_execution),
        **compile_args,
    )
    return model


def compile_classifier(model, train_config, learning_rate=None, steps_per_call=None):
    """Compiles a classifier (logits out) with sparse cross-entropy and accuracy; the rest as
    for :func:`compile_model`.

    Examples:

    ```python
    with strategy.scope():
        model = compile_classifier(ImageClassifier(backbone, 10), config.train)
    ```
    """
    return compile_model(model, train_config, learning_rate=learning_rate, steps_per_call=steps_per_call,
                         **classification_objective())


def classification_objective():
    """``compile`` arguments of a classifier with logits out: sparse cross-entropy and accuracy."""
    return {
        "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    }
