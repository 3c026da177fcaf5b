"""Training one label-efficiency run: a fresh model per learning rate, the number of steps and
the rate chosen on validation; and the linear probe."""

import math

import keras
import numpy as np
import tensorflow as tf

from kerapre.data.text_classification import length_sorted_batches, trim_to_longest


def training_steps(examples, train):
    """``(batch size, steps, steps between validation checks)`` of a run on ``examples``."""
    batch = min(train.batch_size, examples)
    steps = max(train.min_steps, train.epochs * math.ceil(examples / batch))
    every = math.ceil(steps / train.evaluations)
    return batch, every * math.ceil(steps / every), every


def keep_best(checks):
    """A callback that keeps the weights of the best validation check (the earliest of ties)
    and puts them back when training ends, without ever stopping early: Keras's
    ``EarlyStopping`` with ``restore_best_weights`` and a patience of every check."""
    return keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=checks,
                                         restore_best_weights=True)


def fit_and_choose(build, x, y, target, rates, train, seed, run):
    """Trains one fresh model per learning rate and keeps the best on validation.

    Each model trains through ``run`` (the report's ``TrainingRun``) and keeps the weights of
    its best validation check (``keras.callbacks.EarlyStopping`` with
    ``restore_best_weights``, never stopping early: the number of steps is chosen on
    validation); a learning rate whose loss diverges stops its own training and loses.

    Args:
        build: ``build(learning_rate, steps)`` returns a compiled model with logits out.
        x, y: the labelled training examples (model inputs, labels).
        target: the ``Target`` (its validation and test inputs must be model inputs).
        rates: learning rates to try.
        train: a ``ReportTrainConfig``.
        seed: seeds initialisation, dropout and shuffling.
        run: the ``kerapre.training.run.TrainingRun`` every ``fit`` goes through.

    Returns:
        ``{"choice", "best_step", "validation_accuracy", "test_accuracy"}`` of the rate with
        the best validation accuracy (at its best check).
    """
    batch, steps, every = training_steps(len(y), train)
    validation = evaluation_batches(target.x_val, target.y_val)
    test = evaluation_batches(target.x_test, target.y_test)
    best = None
    for rate in rates:
        keras.utils.set_random_seed(seed)
        model = build(rate, steps)
        data = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch)
        )
        if _is_tokens(x):
            data = data.map(trim_to_longest)  # the same examples, less padding: masked, it changes nothing
        data = data.prefetch(tf.data.AUTOTUNE)
        checks = steps // every
        keep = keep_best(checks)
        run.fit(model, data, epochs=checks, steps_per_epoch=every, validation_data=validation, checkpoints=False,
                callbacks=[keep], on_nan="stop")
        if keep.best is None:
            continue  # diverged before its first check
        if best is None or float(keep.best) > best["validation_accuracy"]:
            _, test_accuracy = model.evaluate(test, verbose=0)
            best = {"choice": f"lr={rate:g}", "best_step": (keep.best_epoch + 1) * every,
                    "validation_accuracy": float(keep.best), "test_accuracy": float(test_accuracy)}
    if best is None:
        return {"choice": "diverged at every rate", "best_step": "", "validation_accuracy": float("nan"),
                "test_accuracy": float("nan")}
    return best


def evaluation_batches(x, y, batch_size=256):
    """``(x, y)`` in batches for ``evaluate``. Token inputs (a dict with ``padding_mask``) are
    sorted by length and each batch is cut to its longest: the same accuracy, with a fraction
    of the padding (Rotten Tomatoes' sentences average under half of 64 tokens)."""
    if _is_tokens(x):
        return length_sorted_batches(x, y, batch_size=batch_size)[0]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


def _is_tokens(x):
    return isinstance(x, dict) and "padding_mask" in x


def linear_probe(train_features, train_labels, val_features, val_labels, cs, seed=0):
    """Fits scikit-learn ``LogisticRegression`` on standardised features for each ``C`` in
    ``cs`` and returns ``(model, C, validation accuracy)`` of the best on validation.

    ``model`` is a scikit-learn pipeline (scaler + logistic regression): call
    ``model.score(features, labels)`` or ``model.predict(features)``.

    Examples:

    ```python
    probe, c, accuracy = linear_probe(extract_features(backbone, x_train), y_train,
                                      extract_features(backbone, x_val), y_val, [0.01, 0.1, 1.0])
    ```
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    best = None
    for c in cs:
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))
        probe.fit(train_features, train_labels)
        accuracy = float(probe.score(val_features, val_labels))
        if best is None or accuracy > best[2]:
            best = (probe, c, accuracy)
    return best


def probe_classifier(encoder, probe, num_classes, *, preprocessor=None, pooling="pooled_output"):
    """A ``TextClassifier`` that computes what a linear probe of ``linear_probe`` computes on
    ``extract_text_features(encoder, ..., output=pooling)``: the frozen encoder, then one
    Dense layer holding the probe's standardisation and logistic regression. So a probe
    chosen on validation exports and serves like any fine-tuned classifier.

    Args:
        encoder: the frozen encoder the features came from.
        probe: the scikit-learn pipeline (``StandardScaler`` + ``LogisticRegression``).
        num_classes: the classes (2 for a binary probe: logits ``[0, z]`` give its
            ``predict_proba``).
        preprocessor: the ``BertTextPreprocessor`` the features were made with.
        pooling: the features' pooling, ``pooled_output`` or ``mean``.
    """
    from kerapre.tasks.text_classifier import TextClassifier

    scaler, regression = probe.steps[0][1], probe.steps[-1][1]
    scale = scaler.scale_ if scaler.scale_ is not None else 1.0
    coef = regression.coef_ / scale  # [classes or 1, features], on the raw features
    intercept = regression.intercept_ - (regression.coef_ * scaler.mean_ / scale).sum(axis=1)
    if coef.shape[0] == 1:  # binary: class 1 against a zero logit for class 0
        coef = np.concatenate([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    encoder.trainable = False
    model = TextClassifier(encoder, num_classes, dropout=0.0, preprocessor=preprocessor, pooling=pooling)
    model.output_dense.set_weights([coef.T.astype("float32"), intercept.astype("float32")])
    return model
