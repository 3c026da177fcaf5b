"""Self-supervised pretraining of a CNN backbone on unlabelled images (SimCLR or rotation
prediction), with ``model.fit`` under a strategy. No label is ever read."""

import dataclasses
import os

import keras
import tensorflow as tf
import tensorflow_datasets as tfds

from kerapre.config import SSLPretrainConfig, validate
from kerapre.data.builders import LOCAL_BUILDERS
from kerapre.data.image_folder import FolderOptions, is_image_folder, prepare_image_folder
from kerapre.data.image_pipeline import conform_images
from kerapre.data.images import default_data_dir
from kerapre.data.splits import prepare_builder, read_split
from kerapre.distribute import shard_by
from kerapre.errors import DataError
from kerapre.models.cnn import CNN, PRESETS
from kerapre.tasks.contrastive import ContrastivePretrainer
from kerapre.tasks.image_classifier import extract_backbone
from kerapre.tasks.rotation import RotationPretrainer
from kerapre.training.run import TrainingRun


@dataclasses.dataclass
class SSLRunResult:
    """What a self-supervised pretraining run produced.

    Attributes:
        model: the trained ``ContrastivePretrainer`` or ``RotationPretrainer``.
        backbone: its backbone (shares the weights), from raw images to features.
        model_dir: where the run wrote its config, logs, metrics CSV and ``model.keras``.
        history: ``{metric: [value per epoch]}``.
        images: how many unlabelled images the run drew from (after ``data.limit``); an
            epoch goes over the whole batches of them.
        seconds: wall time of ``fit``.
    """

    model: keras.Model
    backbone: keras.Model
    model_dir: str
    history: dict
    images: int
    seconds: float


def load_unlabelled_images(name, split, data_dir=None, folder=None):
    """Loads the images of one split, and nothing else: the label feature is never decoded.

    TFDS decodes only the image feature (``tfds.decode.PartialDecoding``), so the elements
    hold no label and a label is not read even inside the input pipeline.

    Args:
        name: ``fashion_mnist_local``, ``mnist_5k``, any TFDS set with an image feature, or
            an image folder: class folders (not read as labels), or just images.
        split: a TFDS split, slicing allowed.
        data_dir, folder: as for ``kerapre.data.load_image_dataset``.

    Returns:
        A ``tf.data.Dataset`` of ``image uint8 [H, W, C]``.

    Raises:
        DataError: if the set is unknown, has no image feature or no such split.

    Examples:

    ```python
    images = load_unlabelled_images("mnist_5k", "train")
    next(iter(images)).shape  # (28, 28, 1)
    ```
    """
    path = os.path.expanduser(name)
    if is_image_folder(path):
        builder = prepare_image_folder(path, folder or FolderOptions(), data_dir or default_data_dir(),
                                       labelled=False)
    elif name in LOCAL_BUILDERS:
        builder = LOCAL_BUILDERS[name](data_dir=data_dir or default_data_dir())
    else:
        try:
            builder = tfds.builder(name, data_dir=data_dir)
        except tfds.core.DatasetNotFoundError:
            raise DataError(f"unknown data set {name!r}: use a name from tfds.list_builders() or a local set") from None
    key = _image_feature(name, builder.info)
    prepare_builder(builder, builder.name in LOCAL_BUILDERS)
    ds = read_split(builder, name, split, decoders=tfds.decode.PartialDecoding({key: True}))
    return ds.map(lambda example: example[key], num_parallel_calls=tf.data.AUTOTUNE)


def _image_feature(name, info):
    """The image feature of a TFDS set: its supervised input, else its first ``Image``."""
    images = [key for key, feature in info.features.items() if isinstance(feature, tfds.features.Image)]
    keys = info.supervised_keys
    if isinstance(keys, tuple) and keys and keys[0] in images:
        return keys[0]
    if images:
        return images[0]
    raise DataError(f"{name} has no image feature (features: {list(info.features)}): choose an image data set")


def unlabelled_pipeline(images, *, batch_size, image_shape, seed=0, shuffle_buffer=10_000, resize=False):
    """Batches unlabelled images for ``model.fit``: cache, shuffle, batch, float32, prefetch.

    Batches are whole (the remainder is dropped): under a strategy every replica must get
    images to contrast.

    Args:
        images: a ``tf.data.Dataset`` of ``image [H, W, C]`` (0-255).
        batch_size: the global batch size.
        image_shape: the ``(H, W, C)`` the model expects.
        seed: shuffle seed.
        shuffle_buffer: shuffle buffer size.
        resize: resize the images to ``image_shape`` (``data.resize``); their channels are
            converted to it in any case (``kerapre.data.conform_images``).

    Returns:
        A ``tf.data.Dataset`` of ``images float32 [batch_size, H, W, C]``, 0-255.

    Raises:
        DataError: on images of another size (without ``resize``), or fewer images than one
            batch.
    """
    spec = images.element_spec
    if not isinstance(spec, tf.TensorSpec) or spec.shape.rank != 3:
        raise DataError(f"expected unbatched unlabelled images [H, W, C], got {spec}: load them with "
                        "load_unlabelled_images")
    images = conform_images(images, image_shape, resize=resize)
    count = int(images.cardinality())
    if 0 <= count < batch_size:
        raise DataError(
            f"{count} images make no whole batch of {batch_size}: lower data.batch_size or raise data.limit"
        )
    ds = images.cache().shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(lambda x: tf.ensure_shape(tf.cast(x, tf.float32), (None, *image_shape)),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def build_ssl_model(config):
    """The task model a ``SSLPretrainConfig`` describes, on a fresh CNN backbone (call inside
    ``strategy.scope()``)."""
    cnn = CNN.from_preset(config.model.preset, cut=config.model.cut)
    backbone = extract_backbone(cnn, config.model.cut)
    if config.method == "rotation":
        return RotationPretrainer(backbone, head_units=config.model.head_units, rotations=config.model.rotations)
    augment = config.augment
    return ContrastivePretrainer(
        backbone,
        projection_dim=config.model.projection_dim,
        temperature=config.model.temperature,
        crop_area=augment.crop_area,
        translation=augment.translation,
        noise=augment.noise,
        contrast=augment.contrast,
        flip=augment.flip,
    )


def pretrain_ssl(config=None, model_dir=None):
    """Pretrains a CNN backbone without labels: SimCLR or rotation prediction.

    Writes ``config.yaml``, TensorBoard ``logs/``, ``metrics.csv``, per-epoch
    ``checkpoints/``, the final ``model.keras`` and ``run.json`` into ``model_dir``.
    ``kerapre.load_backbone(model_dir)`` reloads the backbone; ``kerapre.export(run.model,
    name, formats=("backbone", "keras"))`` exports it.

    Args:
        config: a ``kerapre.config.SSLPretrainConfig`` (default: SimCLR on Fashion-MNIST).
        model_dir: the run directory (default: ``runs/<method>_pretrain``).

    Returns:
        An ``SSLRunResult``.

    Examples:

    ```python
    config = load_config(SSLPretrainConfig, overrides=["method=rotation", "train.epochs=1"])
    run = kerapre.pretrain_ssl(config, model_dir="runs/rotation")
    backbone = kerapre.load_backbone("runs/rotation", trainable=False)
    ```
    """
    config = validate(config or SSLPretrainConfig())
    model_dir = model_dir or os.path.join("runs", f"{config.method}_pretrain")
    data = config.data
    with TrainingRun(config, model_dir, task="ssl_pretrain") as run:
        images = load_unlabelled_images(data.name, data.split, data_dir=data.data_dir,
                                        folder=FolderOptions.from_config(data))
        if data.limit:
            images = images.take(data.limit)
        train = unlabelled_pipeline(images, batch_size=run.global_batch(data.batch_size),
                                    image_shape=PRESETS[config.model.preset]["image_shape"], seed=config.train.seed,
                                    resize=data.resize)
        train = shard_by(train, "data")  # cached and shuffled whole: the workers split every batch
        with run.scope():
            model = build_ssl_model(config)
            run.compile(model)
        run.fit(model, train, epochs=config.train.epochs)
        run.save_model(model)
        count = int(images.cardinality())
        run.finish(method=config.method, data=data.name, split=data.split, images=count)
    return SSLRunResult(model, model.backbone, model_dir, run.history, count, run.fit_seconds)
