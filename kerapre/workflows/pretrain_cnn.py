"""Supervised pretraining of a CNN on a source task, with ``model.fit`` under a strategy."""

import dataclasses

import keras

from kerapre.config import CNNPretrainConfig, validate
from kerapre.data import image_dataset_info, image_pipeline, load_image_dataset
from kerapre.data.image_folder import FolderOptions
from kerapre.distribute import is_tpu, shard_by
from kerapre.errors import DataError
from kerapre.models.cnn import CNN, PRESETS
from kerapre.training.compile import classification_objective
from kerapre.training.run import TrainingRun


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
    folder = FolderOptions.from_config(data_config)
    info = image_dataset_info(data_config.name, data_dir=data_config.data_dir, folder=folder)
    datasets = []
    for split, training in ((train_split or data_config.train_split, True), (data_config.eval_split, False)):
        ds = load_image_dataset(data_config.name, split, data_dir=data_config.data_dir, folder=folder)
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
                            repeat=training, drop_remainder=training or static_eval, resize=data_config.resize)
        datasets.append(shard_by(ds, "data"))  # cached and shuffled whole: workers split every batch
    return info, datasets[0], datasets[1], steps_per_epoch


def _count(ds):
    count = int(ds.cardinality())
    return count if count >= 0 else int(ds.reduce(0, lambda n, _: n + 1))


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
    with TrainingRun(config, model_dir, task="cnn_pretrain") as run:
        info, train, evaluation, steps_per_epoch = image_splits(
            config.data,
            image_shape=PRESETS[config.model.preset]["image_shape"],
            global_batch=run.global_batch(config.data.batch_size),
            seed=config.train.seed,
            static_eval=is_tpu(run.strategy),
        )
        with run.scope():
            model = CNN.from_preset(config.model.preset, num_classes=info.num_classes, cut=config.model.cut)
            steps_per_epoch = run.compile(model, steps_per_epoch=steps_per_epoch, **classification_objective())
        run.fit(model, train, epochs=config.train.epochs, steps_per_epoch=steps_per_epoch, validation_data=evaluation)
        run.save_model(model)
        run.finish(data=config.data.name, label_names=list(info.label_names))
    return RunResult(model, model_dir, run.history, list(info.label_names), run.fit_seconds)
