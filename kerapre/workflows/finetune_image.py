"""Fine-tuning a pretrained (or fresh) backbone with a new head on a small labelled set."""

import dataclasses
import os
import typing

import keras

from kerapre.config import AUTO, FinetuneConfig, validate
from kerapre.config.paths import AUTO_IMAGE_BACKBONES
from kerapre.data import image_dataset_info, image_pipeline, load_image_dataset, split_labelled_pool
from kerapre.data.few_labels import VALIDATION_SEED
from kerapre.data.image_folder import FolderOptions
from kerapre.distribute import shard_by
from kerapre.errors import ConfigError
from kerapre.export.runs import build_image_classifier
from kerapre.training.compile import classification_objective
from kerapre.run_record import MODEL_FILE
from kerapre.training.run import TrainingRun



@dataclasses.dataclass
class FinetuneResult:
    """What a fine-tuning run produced.

    Attributes:
        model: the fine-tuned ``ImageClassifier``.
        model_dir: the run directory (``None`` if nothing was written).
        history: ``{metric: [value per epoch]}`` over both phases.
        test_accuracy: accuracy on ``data.eval_split``.
        test_loss: loss on ``data.eval_split``.
        train_examples: how many labelled examples were trained on.
        seconds: wall time of the ``fit`` calls.
        validation_accuracy: accuracy on the held-out validation split (``None`` without
            ``validation_per_class``).
    """

    model: keras.Model
    model_dir: str
    history: dict
    test_accuracy: float
    test_loss: float
    train_examples: int
    seconds: float
    validation_accuracy: typing.Optional[float] = None


def backbone_path(backbone):
    """``backbone`` with ``auto`` replaced by what ``kerapre pretrain cnn`` and ``kerapre
    export`` write by default: the latest backbone export, else the run."""
    if backbone != AUTO:
        return backbone
    export, run = AUTO_IMAGE_BACKBONES
    if os.path.isdir(export):
        return export
    if os.path.exists(os.path.join(run, MODEL_FILE)):
        return run
    raise ConfigError(
        f"no pretrained backbone in {export} or {run}: run `kerapre pretrain cnn` and `kerapre export` first, "
        "or pass --backbone PATH (or --backbone scratch)"
    )


def finetune_image(config=None, model_dir=None):
    """Fine-tunes a backbone on ``config.labels_per_class`` labelled images per class.

    With ``two_phase``, the head trains first with the backbone frozen for
    ``train.epochs``, then everything trains for ``unfreeze_epochs`` at
    ``unfreeze_learning_rate``.

    Args:
        config: a ``kerapre.config.FinetuneConfig``.
        model_dir: where to write config, logs, metrics CSV and weights (``None``: nothing).

    Returns:
        A ``FinetuneResult``.

    Examples:

    ```python
    config = load_config(FinetuneConfig, overrides=[
        "backbone=saved_models/cnn_fashion-backbone", "trainable=false", "labels_per_class=20"])
    result = kerapre.finetune_image(config)
    result.test_accuracy
    ```
    """
    config = validate(config or FinetuneConfig())
    config = dataclasses.replace(config, backbone=backbone_path(config.backbone))  # the run records the path
    data = config.data
    with TrainingRun(config, model_dir, task="finetune_image") as run:
        folder = FolderOptions.from_config(data)
        info = image_dataset_info(data.name, data_dir=data.data_dir, folder=folder)
        batch = run.global_batch(data.batch_size)
        with run.scope():
            model = build_image_classifier(config, info.num_classes, trainable=config.trainable and not config.two_phase)
            run.compile(model, **classification_objective())
        image_shape = tuple(model.input_shape[1:])

        pool = load_image_dataset(data.name, data.train_split, data_dir=data.data_dir, folder=folder)
        if data.limit:
            pool = pool.take(data.limit)
        validation = None
        if config.validation_per_class:
            validation, pool = split_labelled_pool(pool, config.validation_per_class, num_classes=info.num_classes,
                                                   seed=VALIDATION_SEED)
        if config.labels_per_class:
            pool, _ = split_labelled_pool(
                pool, config.labels_per_class, num_classes=info.num_classes, seed=config.train.seed
            )
        train = image_pipeline(pool, batch_size=batch, training=True, seed=config.train.seed, image_shape=image_shape,
                               resize=data.resize)
        test_ds = load_image_dataset(data.name, data.eval_split, data_dir=data.data_dir, folder=folder)
        if data.limit:
            test_ds = test_ds.take(data.limit)
        test = image_pipeline(test_ds, batch_size=max(batch, 256), training=False, image_shape=image_shape,
                              resize=data.resize)
        if validation is not None:
            validation = image_pipeline(validation, batch_size=max(batch, 256), training=False,
                                        image_shape=image_shape, resize=data.resize)
        # Cached and shuffled whole: the workers of a cluster split every batch.
        train, test = shard_by(train, "data"), shard_by(test, "data")
        validation = shard_by(validation, "data") if validation is not None else None

        run.fit(model, train, epochs=config.train.epochs, validation_data=validation, checkpoints=False)
        if config.two_phase:
            with run.scope():
                model.backbone.trainable = True
                run.compile(model, learning_rate=config.unfreeze_learning_rate, **classification_objective())
            run.fit(model, train, initial_epoch=config.train.epochs, epochs=config.train.epochs + config.unfreeze_epochs,
                    validation_data=validation, checkpoints=False)
        test_loss, test_accuracy = model.evaluate(test, verbose=0)
        validation_accuracy = float(model.evaluate(validation, verbose=0)[1]) if validation is not None else None
        train_examples = (
            config.labels_per_class * info.num_classes if config.labels_per_class else int(pool.cardinality())
        )
        run.save_model(model)
        run.finish(data=data.name, label_names=list(info.label_names), train_examples=train_examples,
                   validation_accuracy=validation_accuracy, test_accuracy=float(test_accuracy))
    return FinetuneResult(
        model, model_dir, run.history, float(test_accuracy), float(test_loss), train_examples, run.fit_seconds,
        validation_accuracy,
    )
