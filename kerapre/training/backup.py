"""Exact resume after a crash: a backup of the whole training state at every epoch end.

Keras 3's ``BackupAndRestore`` restores weights and the epoch but not the position in the
data, so a resumed run trains on other batches than an uninterrupted one. kerapre trains on a
repeated, deterministically shuffled stream in epochs of ``steps_per_epoch`` batches; a backup
holds every model variable (weights and random-seed state), every optimizer variable (its step
counter included) and the epochs done. A restarted run rebuilds the same stream, skips the
``epochs_done * steps_per_epoch`` batches already trained on and continues from the backup,
so it ends with the weights an uninterrupted run would have (bitwise, with
``tf.config.experimental.enable_op_determinism()``).

Examples:

```python
backup = RunBackup("runs/x/backup", fingerprint=to_dict(config))
start = backup.epochs_done()
model.fit(train.skip(start * steps), steps_per_epoch=steps, initial_epoch=start, epochs=10,
          callbacks=[backup, StopOnNaN("runs/x")])
```
"""

import json
import math
import os
import shutil

import keras
import numpy as np

from kerapre.errors import TrainingError

STATE_FILE = "state.npz"


class RunBackup(keras.callbacks.Callback):
    """Backs up the training state at every epoch end and restores it when training begins.

    Args:
        backup_dir: where the backup is read from (and written, unless ``write_dir`` is given).
        fingerprint: JSON-able facts a resumed run must share with the backed-up one (the
            config); a backup with another fingerprint is refused.
        write_dir: where backups are written (a multi-worker chief writes ``backup_dir``,
            the other workers a scratch directory, and all of them read ``backup_dir``).
        remove_when_done: delete the backup when ``fit`` ends normally (a finished run
            started again trains anew).
    """

    def __init__(self, backup_dir, fingerprint=None, write_dir=None, remove_when_done=True):
        super().__init__()
        self.backup_dir = backup_dir
        self.write_dir = write_dir or backup_dir
        self.fingerprint = json.loads(json.dumps(fingerprint)) if fingerprint is not None else None
        self.remove_when_done = remove_when_done
        self._state = _read(os.path.join(backup_dir, STATE_FILE))
        if self._state is not None and self._state["meta"]["fingerprint"] != self.fingerprint:
            raise TrainingError(
                f"{backup_dir} holds the backup of a run with another config: start it with the same config to "
                f"resume, or delete {backup_dir} to train anew"
            )

    def epochs_done(self):
        """Epochs the backup holds (0 without a backup): pass it to ``fit(initial_epoch=...)``."""
        return self._state["meta"]["epochs_done"] if self._state else 0

    def on_train_begin(self, logs=None):
        if self._state is None:
            return
        model = self.model
        with model.distribute_strategy.scope():
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
        _assign(model.variables, self._state["model"], "model", self.backup_dir)
        _assign(model.optimizer.variables, self._state["optimizer"], "optimizer", self.backup_dir)

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training and any(_not_finite(v) for v in (logs or {}).values()):
            return  # never back up a diverged state
        os.makedirs(self.write_dir, exist_ok=True)
        path = os.path.join(self.write_dir, STATE_FILE)
        arrays = {f"model_{i}": keras.ops.convert_to_numpy(v.value) for i, v in enumerate(self.model.variables)}
        arrays.update({f"optimizer_{i}": keras.ops.convert_to_numpy(v.value)
                       for i, v in enumerate(self.model.optimizer.variables)})
        meta = {"epochs_done": epoch + 1, "fingerprint": self.fingerprint}
        with open(path + ".tmp", "wb") as f:  # write beside, then rename: a kill never leaves half a backup
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(path + ".tmp", path)

    def on_train_end(self, logs=None):
        if self.remove_when_done and not self.model.stop_training:
            shutil.rmtree(self.write_dir, ignore_errors=True)


class StopOnNaN(keras.callbacks.Callback):
    """Stops training at the first step whose loss is NaN or infinite, before anything is saved.

    Raises ``TrainingError`` from inside ``fit``, so no later callback writes the diverged
    weights: the last checkpoint and backup stay those of the last good epoch (of an earlier
    ``fit`` too, when a resumed run diverges).

    Args:
        model_dir: named in the message (where the last good checkpoint is).
        checkpoints: whether the run writes checkpoints (the message says what is kept).
    """

    def __init__(self, model_dir, checkpoints=True):
        super().__init__()
        self.model_dir = model_dir
        self.checkpoints = checkpoints
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and _not_finite(loss):
            if not self.checkpoints:
                kept = "this run writes no checkpoints"
            elif self._epoch:
                kept = f"{self.model_dir} keeps the checkpoint of epoch {self._epoch}"
            else:
                kept = "no epoch had completed, so nothing was saved"
            raise TrainingError(
                f"the loss became {float(loss)} at epoch {self._epoch + 1}, step {batch + 1}: training stopped and "
                f"{kept}; lower train.learning_rate or check the data"
            )


def _not_finite(value):
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _read(path):
    if not os.path.exists(path):
        return None
    with np.load(path) as data:
        count = {kind: sum(k.startswith(kind + "_") for k in data.files) for kind in ("model", "optimizer")}
        return {
            "meta": json.loads(str(data["meta"])),
            **{kind: [data[f"{kind}_{i}"] for i in range(n)] for kind, n in count.items()},
        }


def _assign(variables, values, what, backup_dir):
    if len(variables) != len(values) or any(tuple(v.shape) != a.shape for v, a in zip(variables, values)):
        raise TrainingError(
            f"the {what} state in {backup_dir} does not fit this model: delete {backup_dir} to train anew"
        )
    for variable, value in zip(variables, values):
        variable.assign(value)
