"""Supervised pretraining of a CNN on a source task, with ``model.fit`` under a strategy."""

import dataclasses
import json
import os
import time

import keras

from kerapre.config import CNNPretrainConfig, save_config, to_dict, validate
from kerapre.data import image_dataset_info, image_pipeline, load_image_dataset
from kerapre.distribute import (
    get_strategy,
    global_batch_size,
    is_tpu,
    keeps_dtype_policy,
    run_directory,
    set_precision,
    shard_by,
    steps_per_execution,
    whole_executions,
)
from kerapre.export import holds_saved_model
from kerapre.models.cnn import CNN, PRESETS
from kerapre.errors import DataError
from kerapre.training import RunBackup, make_optimizer, standard_callbacks

RUN_FILE = "run.json"
BACKUP_DIR = "backup"


@dataclasses.dataclass
class RunResult:
    """What a training run produced.

    Attributes:
        model: the trained Keras model.
        model_dir: where the run wrote its config, logs, metrics CSV and ``model.keras``.
        history: ``{metric: [value per epoch]}``.
        label_names: the class names of the training data.
        seconds: wall time of ``fit``.
    """

    model: keras.Model
    model_dir: str
    history: dict
    label_names: list
    seconds: float


def image_splits(data_config, *, image_shape, global_batch, seed, train_split=None, static_eval=False):
    """``(info, train, eval, steps_per_epoch)`` of a config.

    ``train`` is an endless stream of whole global batches (shuffled anew on every pass, the
    same stream on every run with the same seed, static shapes); ``steps_per_epoch`` of its
    batches make one pass over the training split. ``eval`` is the evaluation split, batched;
    with ``static_eval`` (TPUs) its last partial batch is dropped so every shape is static.
    """
    info = image_dataset_info(data_config.name, data_dir=data_config.data_dir)
    datasets = []
    for split, training in ((train_split or data_config.train_split, True), (data_config.eval_split, False)):
        ds = load_image_dataset(data_config.name, split, data_dir=data_config.data_dir)
        if data_config.limit:
            ds = ds.take(data_config.limit)
        if training:
            examples = _count(ds)
            steps_per_epoch = examples // global_batch
            if not steps_per_epoch:
                raise DataError(
                    f"{data_config.name}[{split}] has {examples} examples, fewer than one global batch of "
                    f"{global_batch}: lower data.batch_size or raise data.limit"
                )
        ds = image_pipeline(ds, batch_size=global_batch, training=training, seed=seed, image_shape=image_shape,
                            repeat=training, drop_remainder=training or static_eval)
        datasets.append(shard_by(ds, "data"))  # cached and shuffled whole: workers split every batch
    return info, datasets[0], datasets[1], steps_per_epoch


def _count(ds):
    count = int(ds.cardinality())
    return count if count >= 0 else int(ds.reduce(0, lambda n, _: n + 1))


def compile_classifier(model, train_config, learning_rate=None, steps_per_call=None):
    """Compiles ``model`` (logits out) with sparse cross-entropy and accuracy;
    ``steps_per_call``, already resolved for the strategy (``distribute.steps_per_execution``),
    overrides ``train_config.steps_per_execution``."""
    model.compile(
        optimizer=make_optimizer(train_config, learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=train_config.jit_compile,
        steps_per_execution=steps_per_call or steps_per_execution(train_config.steps_per_execution),
    )
    return model


def save_run_model(model, model_dir):
    """Saves a trained model into its run: ``model.weights.h5`` always, and ``model.keras``
    unless the model holds a reloaded SavedModel (such a file would store only the
    SavedModel's path and need ``safe_mode=False`` to load)."""
    model.save_weights(os.path.join(model_dir, "model.weights.h5"))
    if not holds_saved_model(model):
        model.save(os.path.join(model_dir, "model.keras"))


def run_backup(config, model_dir, write_dir):
    """``([RunBackup], epochs done)`` of a run with ``train.backup`` on, else ``([], 0)``.

    Every worker reads the chief's backup in ``model_dir``; each writes its own in
    ``write_dir`` (only the chief's is kept). A resumed run must share the whole config but
    ``train.verbose``."""
    if not config.train.backup:
        return [], 0
    fingerprint = to_dict(config)
    fingerprint["train"].pop("verbose")
    backup = RunBackup(os.path.join(model_dir, BACKUP_DIR), fingerprint=fingerprint,
                       write_dir=os.path.join(write_dir, BACKUP_DIR))
    return [backup], backup.epochs_done()


def write_run_record(model_dir, **facts):
    """Writes ``run.json``: what a later ``export`` or ``finetune`` needs to know."""
    from kerapre import __version__

    path = os.path.join(model_dir, RUN_FILE)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"kerapre_version": __version__, **facts}, f, indent=2)
    os.replace(path + ".tmp", path)


@keeps_dtype_policy
def pretrain_cnn(config=None, model_dir="runs/cnn_pretrain"):
    """Pretrains a CNN preset on a labelled source task (Fashion-MNIST by default).

    Writes ``config.yaml``, TensorBoard ``logs/``, ``metrics.csv``, per-epoch
    ``checkpoints/``, the final ``model.keras`` and ``run.json`` into ``model_dir``; with
    ``train.backup`` a ``backup/`` while it runs, from which a crashed run started again
    continues exactly (see ``kerapre.training.RunBackup``). Under a multi-worker strategy only
    the chief writes ``model_dir``.

    Args:
        config: a ``kerapre.config.CNNPretrainConfig`` (default: its defaults).
        model_dir: the run directory.

    Returns:
        A ``RunResult``.

    Examples:

    ```python
    config = load_config(CNNPretrainConfig, overrides=["train.epochs=1"])
    run = kerapre.pretrain_cnn(config, model_dir="runs/fashion")
    kerapre.export(run.model, "cnn_fashion", label_names=run.label_names)
    ```
    """
    config = validate(config or CNNPretrainConfig())
    # First: a multi-worker strategy must exist before TensorFlow runs any op.
    strategy = get_strategy(config.train.strategy)
    with run_directory(strategy, model_dir) as write_dir:
        save_config(config, os.path.join(write_dir, "config.yaml"))
        keras.utils.set_random_seed(config.train.seed)
        precision = set_precision(config.train.precision, strategy)
        batch = global_batch_size(strategy, config.data.batch_size)
        info, train, evaluation, steps_per_epoch = image_splits(
            config.data,
            image_shape=PRESETS[config.model.preset]["image_shape"],
            global_batch=batch,
            seed=config.train.seed,
            static_eval=is_tpu(strategy),
        )
        with strategy.scope():
            model = CNN.from_preset(config.model.preset, num_classes=info.num_classes, cut=config.model.cut)
            steps_per_epoch, steps_per_call = whole_executions(
                steps_per_epoch, steps_per_execution(config.train.steps_per_execution))
            compile_classifier(model, config.train, steps_per_call=steps_per_call)

        callbacks, first_epoch = run_backup(config, model_dir, write_dir)
        start = time.perf_counter()
        history = model.fit(
            train.skip(first_epoch * steps_per_epoch),  # the batches a resumed run already trained on
            steps_per_epoch=steps_per_epoch,
            initial_epoch=first_epoch,
            shuffle=False,  # the pipeline shuffles
            validation_data=evaluation,
            epochs=config.train.epochs,
            callbacks=[*standard_callbacks(write_dir, append=first_epoch > 0), *callbacks],
            verbose=config.train.verbose,
        )
        seconds = time.perf_counter() - start
        model.save(os.path.join(write_dir, "model.keras"))
        write_run_record(
            write_dir,
            task="cnn_pretrain",
            data=config.data.name,
            label_names=list(info.label_names),
            precision=precision,
            replicas=strategy.num_replicas_in_sync,
            fit_seconds=round(seconds, 2),
            final_metrics={k: float(v[-1]) for k, v in history.history.items()},
            config=to_dict(config),
        )
    return RunResult(model, model_dir, history.history, list(info.label_names), seconds)
