"""Image classification sets: load ``(image, label)`` sets and describe them.

Local sets (``mnist_5k``, ``fashion_mnist_local``) and online TFDS sets (``mnist``,
``fashion_mnist``, ``cifar10``, ...) load through the same call and yield the same
``(image uint8 [H, W, C], label int64)`` elements. ``image_pipeline`` batches them and
``few_labels`` picks a few labels per class.
"""

import dataclasses
import os

import tensorflow_datasets as tfds

from kerapre.data.builders import LOCAL_BUILDERS
from kerapre.data.image_folder import FolderOptions, is_image_folder, prepare_image_folder
from kerapre.data.splits import prepare_builder, read_split
from kerapre.errors import DataError

LOCAL_DATASETS = tuple(sorted(LOCAL_BUILDERS))
DATA_DIR_ENV_VAR = "KERAPRE_DATA_DIR"
DEFAULT_DATA_DIR = os.path.join("~", ".cache", "kerapre", "tensorflow_datasets")


@dataclasses.dataclass(frozen=True)
class ImageDatasetInfo:
    """What a model needs to know about an image classification set.

    Args:
        name: the data set name, as given to ``load_image_dataset``.
        image_shape: ``(height, width, channels)``; a dimension is ``None`` if it varies.
        num_classes: number of classes; labels are ``0 .. num_classes - 1``.
        label_names: the name of each class, indexed by label.
        split_sizes: ``{split: number of examples}``; empty for an online set not yet
            downloaded.

    Examples:

    ```python
    info = image_dataset_info("mnist_5k")
    info.image_shape, info.num_classes, info.split_sizes["train"]  # (28, 28, 1), 10, 3000
    ```
    """

    name: str
    image_shape: tuple
    num_classes: int
    label_names: tuple
    split_sizes: dict


def default_data_dir():
    """Returns where local sets are prepared.

    That is ``$KERAPRE_DATA_DIR`` if set, else ``~/.cache/kerapre/tensorflow_datasets``.

    Examples:

    ```python
    default_data_dir()  # "/home/me/.cache/kerapre/tensorflow_datasets"
    ```
    """
    return os.path.expanduser(os.environ.get(DATA_DIR_ENV_VAR) or DEFAULT_DATA_DIR)


def load_image_dataset(name, split, data_dir=None, folder=None):
    """Loads one split of an image classification set as ``(image, label)`` pairs.

    ``mnist_5k`` and ``fashion_mnist_local`` are built from files already on this machine
    (see ``kerapre.data.builders``) the first time they are used, then read from
    ``data_dir``. Any other name is a TFDS set, downloaded by TFDS on first use. Elements
    come in a fixed order (files are not shuffled), so the same call always yields the same
    sequence; shuffle in ``image_pipeline``. A directory is the user's own image folder
    (see ``kerapre.data.image_folder``), prepared into the cache once.

    Args:
        name: ``mnist_5k``, ``fashion_mnist_local``, any TFDS image classification set
            (``mnist``, ``fashion_mnist``, ``cifar10``, ...) or an image folder.
        split: a TFDS split, slicing allowed: ``"train"``, ``"test"``, ``"train[:90%]"``.
        data_dir: where prepared sets live. Defaults to ``default_data_dir()`` for the local
            sets and image folders, and to TFDS's own default (``~/tensorflow_datasets``)
            for online ones.
        folder: a ``FolderOptions`` for an image folder (how a single tree is split).

    Returns:
        A ``tf.data.Dataset`` of ``(image uint8 [H, W, C], label int64)``.

    Raises:
        DataError: if the set is unknown, is not images with class labels, has no such
            split, or its local source files are missing.

    Examples:

    ```python
    ds = load_image_dataset("mnist_5k", "train[:90%]")
    image, label = next(iter(ds))  # uint8 (28, 28, 1), int64 ()
    ```
    """
    builder = _builder(name, data_dir, folder)
    prepare_builder(builder, builder.name in LOCAL_BUILDERS)
    return read_split(builder, name, split, as_supervised=True)


def image_dataset_info(name, data_dir=None, folder=None):
    """Describes an image classification set without loading its images.

    Local sets are prepared first (seconds for ``mnist_5k``) so that their split sizes are
    known; online sets are not downloaded, so their ``split_sizes`` may be empty.

    Args:
        name: a data set name, as for ``load_image_dataset``.
        data_dir, folder: as for ``load_image_dataset``.

    Returns:
        An ``ImageDatasetInfo``.

    Raises:
        DataError: as for ``load_image_dataset``.

    Examples:

    ```python
    image_dataset_info("fashion_mnist_local").label_names[:2]  # ("T-shirt/top", "Trouser")
    ```
    """
    builder = _builder(name, data_dir, folder)
    if name in LOCAL_BUILDERS:
        prepare_builder(builder, builder.name in LOCAL_BUILDERS)
    image_key, label_key = builder.info.supervised_keys
    image_feature = builder.info.features[image_key]
    label_feature = builder.info.features[label_key]
    return ImageDatasetInfo(
        name=name,
        image_shape=tuple(image_feature.shape),
        num_classes=label_feature.num_classes,
        label_names=tuple(label_feature.names),
        split_sizes={split: info.num_examples for split, info in builder.info.splits.items()},
    )


def _builder(name, data_dir, folder=None):
    """Returns the TFDS builder of an image classification set (unprepared, except an image
    folder, which is prepared here)."""
    name = os.path.expanduser(os.fspath(name))
    if is_image_folder(name):
        return prepare_image_folder(name, folder or FolderOptions(), data_dir or default_data_dir())
    if os.sep in name and name.split(os.sep)[0] in ("", ".", ".."):
        raise DataError(f"no such image folder: {name}: check the path")
    if name in LOCAL_BUILDERS:
        return LOCAL_BUILDERS[name](data_dir=data_dir or default_data_dir())
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        raise DataError(
            f"unknown data set {name!r}: use a name from tfds.list_builders(), a local "
            f"set ({', '.join(LOCAL_DATASETS)}) or an image folder (root/<class>/<image>)"
        ) from None
    _check_image_classification(name, builder.info)
    return builder


def _check_image_classification(name, info):
    keys = info.supervised_keys
    features = info.features
    if (
        isinstance(keys, tuple)
        and len(keys) == 2
        and all(isinstance(key, str) and key in features for key in keys)
        and isinstance(features[keys[0]], tfds.features.Image)
        and isinstance(features[keys[1]], tfds.features.ClassLabel)
    ):
        return
    raise DataError(
        f"{name} is not an image classification set (its supervised keys are {keys}): "
        "choose one whose examples are an image and a class label, e.g. mnist or cifar10"
    )
