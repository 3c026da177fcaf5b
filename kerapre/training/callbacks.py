"""The callbacks every kerapre run gets: TensorBoard, a metrics CSV and checkpoints."""

import os

import keras


def standard_callbacks(model_dir, *, checkpoints=True):
    """TensorBoard logs in ``model_dir/logs``, ``model_dir/metrics.csv`` and per-epoch
    weight checkpoints in ``model_dir/checkpoints/``.

    Args:
        model_dir: the run directory.
        checkpoints: whether to write a weights checkpoint after every epoch.
    """
    os.makedirs(model_dir, exist_ok=True)
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=os.path.join(model_dir, "logs")),
        keras.callbacks.CSVLogger(os.path.join(model_dir, "metrics.csv")),
        keras.callbacks.TerminateOnNaN(),
    ]
    if checkpoints:
        os.makedirs(os.path.join(model_dir, "checkpoints"), exist_ok=True)
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                os.path.join(model_dir, "checkpoints", "epoch-{epoch:03d}.weights.h5"),
                save_weights_only=True,
            )
        )
    return callbacks
