"""The run skeleton every training workflow shares.

A workflow keeps only what is its own (its inputs, its model, its loss, what it prints); the
rest happens here, in this order:

1. the ``tf.distribute`` strategy, first (a multi-worker strategy must exist before
   TensorFlow runs any op);
2. the run directory: ``model_dir`` on the chief, a scratch directory on the other workers
   of a multi-worker cluster (removed afterwards), made only when the run first writes, so
   a config or data error leaves nothing on disk;
3. the seed, then the precision policy (``auto``: bfloat16 where the hardware computes
   it), restored to the caller's when the run ends;
4. ``config.yaml``, as soon as the directory exists;
5. on every ``fit``: the NaN stop, TensorBoard ``logs/``, ``metrics.csv``, checkpoints,
   a step timer and, with ``train.backup``, the backup a crashed run resumes from (saying
   so in one line before training);
6. ``model.keras`` (or ``model.weights.h5`` alone for a model over a reloaded SavedModel)
   and the typed ``run.json`` (``kerapre.run_record``).

Examples:

```python
with TrainingRun(config, "runs/x", task="cnn_pretrain") as run:
    train = make_stream(run.global_batch(config.data.batch_size))
    with run.scope():
        model = build_model(config)
        steps = run.compile(model, loss="mse", steps_per_epoch=steps)
    run.fit(model, train, epochs=config.train.epochs, steps_per_epoch=steps)
    run.save_model(model)
    record = run.finish(data=config.data.name)
```
"""

import contextlib
import os
import time

import keras

from kerapre import __version__
from kerapre.config import save_config, to_dict
from kerapre.distribute import get_strategy, global_batch_size, run_directory, set_precision, steps_per_execution, \
    whole_executions
from kerapre.run_record import BACKUP_DIR, CONFIG_FILE, MODEL_FILE, WEIGHTS_FILE, RunRecord, write_run_record
from kerapre.training.backup import RunBackup, StopOnNaN
from kerapre.training.callbacks import StepTimer, standard_callbacks
from kerapre.training.compile import compile_model



class TrainingRun:
    """One training run, from the strategy to the run record (a context manager).

    Args:
        config: the experiment config; its ``train`` section gives ``strategy``,
            ``precision``, ``seed``, ``verbose``, ``jit_compile``,
            ``steps_per_execution`` and (where it has one) ``backup``.
        model_dir: the run directory (``None``: the run writes nothing).
        task: the workflow's name in ``run.json`` and its log lines.
        log: where the run's one-line messages go.

    Attributes:
        strategy: the ``tf.distribute`` strategy.
        precision: the dtype policy name in force.
        history: ``{metric: [value per epoch]}`` over every ``fit`` of the run.
        timer: the ``StepTimer`` of every training step.
        fit_seconds: wall time of the ``fit`` calls.
    """

    def __init__(self, config, model_dir, *, task, log=print):
        self.config = config
        self.model_dir = os.fspath(model_dir) if model_dir else None
        self.task = task
        self.log = log
        self.history = {}
        self.timer = StepTimer()
        self.fit_seconds = 0.0
        self.resumed_after_epoch = 0
        self._fits = 0
        self._write_dir = None
        self._stack = contextlib.ExitStack()

    # === Set-up and tear-down ===

    def __enter__(self):
        train = self.config.train
        previous_policy = keras.mixed_precision.dtype_policy()
        self._stack.callback(keras.mixed_precision.set_dtype_policy, previous_policy)
        self.strategy = get_strategy(train.strategy)
        keras.utils.set_random_seed(train.seed)
        self.precision = set_precision(train.precision, self.strategy)
        return self

    def __exit__(self, *exc_info):
        return self._stack.__exit__(*exc_info)

    @property
    def directory(self):
        """Where this process writes (made, with ``config.yaml``, on first use); ``None``
        for a run without ``model_dir``."""
        if self._write_dir is None and self.model_dir:
            self._write_dir = self._stack.enter_context(run_directory(self.strategy, self.model_dir))
            save_config(self.config, os.path.join(self._write_dir, CONFIG_FILE))
        return self._write_dir

    def path(self, *parts):
        """A path inside :attr:`directory` (``None`` for a run that writes nothing)."""
        return os.path.join(self.directory, *parts) if self.directory else None

    # === Model ===

    def scope(self):
        """``strategy.scope()``: build models, optimizers and metrics inside it."""
        return self.strategy.scope()

    def global_batch(self, per_replica):
        """The batch ``fit`` sees: ``per_replica`` times the replicas in sync."""
        return global_batch_size(self.strategy, per_replica)

    def compile(self, model, *, steps_per_epoch=None, **compile_args):
        """Compiles ``model`` with the run's optimizer settings, XLA and steps per call
        (``kerapre.training.compile.compile_model``); call inside :meth:`scope`.

        With ``steps_per_epoch`` (an endless stream) the epoch is cut to whole calls of
        ``steps_per_execution`` steps and returned (``distribute.whole_executions``).
        """
        per_call = steps_per_execution(self.config.train.steps_per_execution)
        if steps_per_epoch is not None:
            steps_per_epoch, per_call = whole_executions(steps_per_epoch, per_call)
        compile_model(model, self.config.train, steps_per_call=per_call, **compile_args)
        return steps_per_epoch

    # === Training ===

    def fit(self, model, train, *, epochs, steps_per_epoch=None, validation_data=None, initial_epoch=0,
            checkpoints=True, keep_every_checkpoint=True, callbacks=(), on_nan="raise"):
        """``model.fit`` with the run's callbacks; returns this call's history.

        A loss that becomes NaN raises ``TrainingError`` (``on_nan="raise"``) or, with
        ``on_nan="stop"`` (one trial of a grid, where a diverged choice simply loses), stops
        this ``fit`` only.

        ``train`` is shuffled by its pipeline. With ``steps_per_epoch``, it is an endless
        stream and, if ``train.backup`` is on, a backup is kept after every epoch: a run
        started again after a crash restores it, skips the batches already trained on and
        says so before training. A second ``fit`` of the run (a second phase) continues
        ``metrics.csv`` from ``initial_epoch``.
        """
        backups = []
        if steps_per_epoch is not None and getattr(self.config.train, "backup", False) and self.model_dir:
            backup = self._backup()
            backups.append(backup)
            initial_epoch = max(initial_epoch, backup.epochs_done())
            if backup.epochs_done():
                self.resumed_after_epoch = backup.epochs_done()
                self.log(f"[{self.task}] resuming: {os.path.join(self.model_dir, BACKUP_DIR)} holds epoch "
                         f"{backup.epochs_done()} of {epochs} of a run that stopped before its end; training goes on "
                         f"from epoch {backup.epochs_done() + 1}")
                train = train.skip(backup.epochs_done() * steps_per_epoch)  # the batches already trained on
        if self.directory:
            run_callbacks = standard_callbacks(self.directory, checkpoints=checkpoints,
                                               keep_every_checkpoint=keep_every_checkpoint,
                                               append=initial_epoch > 0 or self._fits > 0)
        else:
            run_callbacks = [StopOnNaN(None, checkpoints=False)]
        if on_nan == "stop":
            run_callbacks = [c for c in run_callbacks if not isinstance(c, StopOnNaN)]
            run_callbacks.insert(0, keras.callbacks.TerminateOnNaN())
        start = time.perf_counter()
        fit = model.fit(
            train,
            steps_per_epoch=steps_per_epoch,
            initial_epoch=initial_epoch,
            epochs=epochs,
            validation_data=validation_data,
            callbacks=[*run_callbacks, self.timer, *backups, *callbacks],
            verbose=self.config.train.verbose,
            shuffle=False,  # the pipelines shuffle
        )
        self.fit_seconds += time.perf_counter() - start
        self._fits += 1
        history = {key: [float(v) for v in values] for key, values in fit.history.items()}
        for key, values in history.items():
            self.history.setdefault(key, []).extend(values)
        return history

    def _backup(self):
        # A resumed run must share the whole config but train.verbose.
        fingerprint = to_dict(self.config)
        fingerprint["train"].pop("verbose")
        return RunBackup(os.path.join(self.model_dir, BACKUP_DIR), fingerprint=fingerprint,
                         write_dir=os.path.join(self.directory, BACKUP_DIR))

    # === Outputs ===

    def save_model(self, model, filename=MODEL_FILE):
        """Saves ``model`` into the run: ``filename`` (a ``.keras`` file), or, for a model
        over a reloaded SavedModel (whose ``.keras`` file would store only the SavedModel's
        path and need ``safe_mode=False``), ``model.weights.h5`` alone."""
        if not self.directory:
            return
        if any(isinstance(layer, keras.layers.TFSMLayer) for layer in model._flatten_layers()):
            model.save_weights(self.path(WEIGHTS_FILE))
        else:
            model.save(self.path(filename))

    def finish(self, **facts):
        """Writes ``run.json`` (the ``RunRecord`` of the run and ``facts``) and returns the record."""
        record = RunRecord(
            task=self.task,
            config=to_dict(self.config),
            kerapre_version=__version__,
            precision=self.precision,
            replicas=self.strategy.num_replicas_in_sync,
            fit_seconds=round(self.fit_seconds, 2),
            resumed_after_epoch=self.resumed_after_epoch,
            final_metrics={key: values[-1] for key, values in self.history.items()},
            **facts,
        )
        if self.directory:
            write_run_record(self.directory, record)
        return record
