"""Fine-tuning a pretrained (or fresh) backbone with a new head on a small labelled set."""

import dataclasses
import os

import keras

from kerapre.config import FinetuneConfig, from_dict, validate
from kerapre.data import image_dataset_info, image_pipeline, load_image_dataset, split_labelled_pool
from kerapre.distribute import shard_by
from kerapre.errors import ExportError
from kerapre.export.reload import load_backbone
from kerapre.models.cnn import CNN
from kerapre.run_record import has_run_record, read_run_record
from kerapre.tasks.image_classifier import ImageClassifier, extract_backbone
from kerapre.training.compile import classification_objective
from kerapre.training.run import MODEL_FILE, WEIGHTS_FILE, TrainingRun

SCRATCH = "scratch"


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
    """

    model: keras.Model
    model_dir: str
    history: dict
    test_accuracy: float
    test_loss: float
    train_examples: int
    seconds: float


def build_finetune_model(config, num_classes, trainable=None):
    """The ``ImageClassifier`` a fine-tuning config describes (call inside ``strategy.scope()``).

    Args:
        config: a ``FinetuneConfig``.
        num_classes: classes of the target task.
        trainable: overrides ``config.trainable`` (used by the two-phase schedule).
    """
    trainable = config.trainable if trainable is None else trainable
    if config.backbone == SCRATCH:
        fresh = CNN.from_preset(config.model.preset, num_classes=num_classes, cut=config.model.cut)
        backbone = extract_backbone(fresh, config.model.cut)
        backbone.trainable = trainable
    else:
        backbone = load_backbone(config.backbone, trainable=trainable, cut=config.model.cut)
    return ImageClassifier(backbone, num_classes, head_units=config.head.units, dropout=config.head.dropout)


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
    data = config.data
    with TrainingRun(config, model_dir, task="finetune_image") as run:
        info = image_dataset_info(data.name, data_dir=data.data_dir)
        batch = run.global_batch(data.batch_size)
        with run.scope():
            model = build_finetune_model(config, info.num_classes, trainable=config.trainable and not config.two_phase)
            run.compile(model, **classification_objective())
        image_shape = tuple(model.input_shape[1:])

        pool = load_image_dataset(data.name, data.train_split, data_dir=data.data_dir)
        if data.limit:
            pool = pool.take(data.limit)
        if config.labels_per_class:
            pool, _ = split_labelled_pool(
                pool, config.labels_per_class, num_classes=info.num_classes, seed=config.train.seed
            )
        train = image_pipeline(pool, batch_size=batch, training=True, seed=config.train.seed, image_shape=image_shape)
        test_ds = load_image_dataset(data.name, data.eval_split, data_dir=data.data_dir)
        if data.limit:
            test_ds = test_ds.take(data.limit)
        test = image_pipeline(test_ds, batch_size=max(batch, 256), training=False, image_shape=image_shape)
        # Cached and shuffled whole: the workers of a cluster split every batch.
        train, test = shard_by(train, "data"), shard_by(test, "data")

        run.fit(model, train, epochs=config.train.epochs, checkpoints=False)
        if config.two_phase:
            with run.scope():
                model.backbone.trainable = True
                run.compile(model, learning_rate=config.unfreeze_learning_rate, **classification_objective())
            run.fit(model, train, initial_epoch=config.train.epochs, epochs=config.train.epochs + config.unfreeze_epochs,
                    checkpoints=False)
        test_loss, test_accuracy = model.evaluate(test, verbose=0)
        train_examples = (
            config.labels_per_class * info.num_classes if config.labels_per_class else int(pool.cardinality())
        )
        run.save_model(model)
        run.finish(data=data.name, label_names=list(info.label_names), train_examples=train_examples,
                   test_accuracy=float(test_accuracy))
    return FinetuneResult(
        model, model_dir, run.history, float(test_accuracy), float(test_loss), train_examples, run.fit_seconds
    )


def load_run_model(model_dir):
    """The trained model of a run directory (``model.keras``, or rebuilt from ``run.json``
    and ``model.weights.h5`` when the backbone came from a SavedModel)."""
    keras_file = os.path.join(model_dir, MODEL_FILE)
    if os.path.exists(keras_file):
        return keras.saving.load_model(keras_file)
    if not has_run_record(model_dir):
        raise ExportError(f"{model_dir} is not a kerapre run (no model.keras or run.json): pass --model-dir of a run")
    record = read_run_record(model_dir)
    model = build_finetune_model(from_dict(FinetuneConfig, record.config), len(record.label_names))
    model.load_weights(os.path.join(model_dir, WEIGHTS_FILE))
    return model


def run_label_names(model_dir):
    """The class names recorded in a run's ``run.json`` (``None`` if absent)."""
    return read_run_record(model_dir).label_names if has_run_record(model_dir) else None
