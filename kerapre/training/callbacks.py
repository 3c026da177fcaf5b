"""The callbacks every kerapre run gets: a NaN stop, TensorBoard, a metrics CSV and checkpoints."""

import os
import statistics
import time

import keras

from kerapre.run_record import CHECKPOINTS_DIR, LATEST_CHECKPOINT
from kerapre.training.backup import StopOnNaN


def standard_callbacks(model_dir, *, checkpoints=True, keep_every_checkpoint=True, append=False):
    """TensorBoard logs in ``model_dir/logs``, ``model_dir/metrics.csv`` and weight
    checkpoints in ``model_dir/checkpoints/``; a NaN loss stops training with a
    ``TrainingError`` before anything of the diverged step is written.

    Args:
        model_dir: the run directory.
        checkpoints: whether to write a weights checkpoint after every epoch.
        keep_every_checkpoint: one file per epoch (``epoch-NNN.weights.h5``), or only the
            latest (``latest.weights.h5``, for large models).
        append: continue ``metrics.csv`` (a resumed run) instead of starting it anew.
    """
    os.makedirs(model_dir, exist_ok=True)
    callbacks = [
        StopOnNaN(model_dir, checkpoints),  # first: it raises before any other callback sees the diverged step
        keras.callbacks.TensorBoard(log_dir=os.path.join(model_dir, "logs")),
        keras.callbacks.CSVLogger(os.path.join(model_dir, "metrics.csv"), append=append),
    ]
    if checkpoints:
        os.makedirs(os.path.join(model_dir, CHECKPOINTS_DIR), exist_ok=True)
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                os.path.join(
                    model_dir,
                    CHECKPOINTS_DIR,
                    "epoch-{epoch:03d}.weights.h5" if keep_every_checkpoint else LATEST_CHECKPOINT,
                ),
                save_weights_only=True,
            )
        )
    return callbacks


class StepTimer(keras.callbacks.Callback):
    """Times every training step (wall clock around each batch), so throughput can be
    reported as a median that ignores stalls outside the steps."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    def median(self, skip=5):
        """The median step time in seconds, after ``skip`` warm-up steps."""
        steps = self.seconds[skip:] or self.seconds
        return statistics.median(steps) if steps else float("nan")
