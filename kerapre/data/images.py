"""Image classification data: load ``(image, label)`` sets, batch them, and pick few labels.

Local sets (``mnist_5k``, ``fashion_mnist_local``) and online TFDS sets (``mnist``,
``fashion_mnist``, ``cifar10``, ...) load through the same call and yield the same
``(image uint8 [H, W, C], label int64)`` elements.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from kerapre.data.builders import LOCAL_BUILDERS
from kerapre.data.splits import prepare_builder, read_split
from kerapre.errors import DataError

LOCAL_DATASETS = tuple(sorted(LOCAL_BUILDERS))
DATA_DIR_ENV_VAR = "KERAPRE_DATA_DIR"
DEFAULT_DATA_DIR = os.path.join("~", ".cache", "kerapre", "tensorflow_datasets")
# Enough to make the label pass a handful of iterations without holding much memory.
_LABEL_BATCH = 8192


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


def load_image_dataset(name, split, data_dir=None):
    """Loads one split of an image classification set as ``(image, label)`` pairs.

    ``mnist_5k`` and ``fashion_mnist_local`` are built from files already on this machine
    (see ``kerapre.data.builders``) the first time they are used, then read from
    ``data_dir``. Any other name is a TFDS set, downloaded by TFDS on first use. Elements
    come in a fixed order (files are not shuffled), so the same call always yields the same
    sequence; shuffle in ``image_pipeline``.

    Args:
        name: ``mnist_5k``, ``fashion_mnist_local`` or any TFDS image classification set
            (``mnist``, ``fashion_mnist``, ``cifar10``, ...).
        split: a TFDS split, slicing allowed: ``"train"``, ``"test"``, ``"train[:90%]"``.
        data_dir: where prepared sets live. Defaults to ``default_data_dir()`` for the local
            sets and to TFDS's own default (``~/tensorflow_datasets``) for online ones.

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
    builder = _builder(name, data_dir)
    prepare_builder(builder, builder.name in LOCAL_BUILDERS)
    return read_split(builder, name, split, as_supervised=True)


def image_dataset_info(name, data_dir=None):
    """Describes an image classification set without loading its images.

    Local sets are prepared first (seconds for ``mnist_5k``) so that their split sizes are
    known; online sets are not downloaded, so their ``split_sizes`` may be empty.

    Args:
        name: a data set name, as for ``load_image_dataset``.
        data_dir: as for ``load_image_dataset``.

    Returns:
        An ``ImageDatasetInfo``.

    Raises:
        DataError: as for ``load_image_dataset``.

    Examples:

    ```python
    image_dataset_info("fashion_mnist_local").label_names[:2]  # ("T-shirt/top", "Trouser")
    ```
    """
    builder = _builder(name, data_dir)
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


def image_pipeline(
    ds,
    *,
    batch_size,
    training,
    seed=0,
    image_shape=None,
    cache=True,
    shuffle_buffer=10_000,
    drop_remainder=False,
    repeat=False,
):
    """Batches ``(image, label)`` pairs for ``model.fit``: cache, shuffle, batch, prefetch.

    Images become float32 but keep their 0-255 values: kerapre models rescale pixels
    inside, so an exported model serves raw pixels and training sees exactly what serving
    will. Labels become int64.

    Args:
        ds: a ``tf.data.Dataset`` of ``(image [H, W, C], label)``, e.g. from
            ``load_image_dataset``.
        batch_size: examples per batch.
        training: if True, shuffle (anew every epoch); if False, keep the order.
        seed: shuffle seed.
        image_shape: the ``(H, W, C)`` the model expects; checked against the data set.
        cache: keep the decoded images in memory after the first epoch.
        shuffle_buffer: shuffle buffer size; at least the set size gives a full shuffle.
        drop_remainder: drop the last batch if it is smaller than ``batch_size``.
        repeat: repeat forever (then give ``steps_per_epoch`` to ``fit``).

    Returns:
        A ``tf.data.Dataset`` of ``(images float32 [B, H, W, C], labels int64 [B])``.

    Raises:
        DataError: if the elements are not ``(image, label)`` pairs, the images do not
            have ``image_shape``, or the set is known to be empty.

    Examples:

    ```python
    train = image_pipeline(load_image_dataset("mnist_5k", "train"), batch_size=32,
                           training=True, image_shape=(28, 28, 1))
    images, labels = next(iter(train))  # float32 (32, 28, 28, 1), int64 (32,)
    ```
    """
    image_spec, _ = _check_image_label_spec(ds)
    if image_shape is not None and not image_spec.shape.is_compatible_with(image_shape):
        raise DataError(
            f"data set yields images of shape {_shape_str(image_spec.shape)} but the model "
            f"expects {tuple(image_shape)}: choose a preset made for "
            f"{'x'.join(str(d or '?') for d in image_spec.shape.as_list())} images or another data set"
        )
    cardinality = int(ds.cardinality())
    if cardinality == 0:
        raise DataError(
            "data set is empty: check the split (e.g. 'train[:90%]') and any filter on it"
        )
    if cache and cardinality == tf.data.INFINITE_CARDINALITY:
        raise DataError(
            "cannot cache an endless data set: pass repeat=True instead of calling "
            ".repeat() before image_pipeline, or cache=False"
        )
    if cache:
        # Caching before the cast keeps uint8 images: a quarter of the memory of float32.
        ds = ds.cache()
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(_to_float(image_shape), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def few_labels_per_class(ds, labels_per_class, *, num_classes, seed):
    """Keeps exactly ``labels_per_class`` examples of every class, chosen at random.

    The choice depends only on ``seed`` and the order of ``ds`` (not on TensorFlow's global
    seed), so a label-efficiency run can vary the model seed and keep the same labels. One
    pass reads the labels to choose; the result then streams from ``ds`` with a filter.

    Args:
        ds: ``(image, label)`` pairs that come in the same order on every pass (as from
            ``load_image_dataset``; not a dataset reshuffled each iteration).
        labels_per_class: how many examples to keep of each class.
        num_classes: number of classes; labels must be in ``0 .. num_classes - 1``.
        seed: picks the subset; the same seed gives the same subset.

    Returns:
        A ``tf.data.Dataset`` of ``labels_per_class * num_classes`` pairs, in ``ds`` order.

    Raises:
        DataError: if a class has fewer than ``labels_per_class`` examples or a label is
            out of range.

    Examples:

    ```python
    pool = load_image_dataset("mnist_5k", "train")
    labelled = few_labels_per_class(pool, 10, num_classes=10, seed=0)  # 100 examples
    ```
    """
    labelled, _ = split_labelled_pool(ds, labels_per_class, num_classes, seed)
    return labelled


def split_labelled_pool(ds, labels_per_class, num_classes, seed):
    """Splits ``ds`` into ``labels_per_class`` examples per class and everything else.

    The remainder is disjoint from the labelled subset and together they are ``ds``, which
    makes it a ready validation set (or an unlabelled pool). See ``few_labels_per_class``
    for how the subset is chosen.

    Args:
        ds: ``(image, label)`` pairs in a fixed order, as for ``few_labels_per_class``.
        labels_per_class: how many examples to keep of each class.
        num_classes: number of classes.
        seed: picks the subset.

    Returns:
        ``(labelled, rest)``, two ``tf.data.Dataset`` of ``(image, label)``.

    Raises:
        DataError: as for ``few_labels_per_class``.

    Examples:

    ```python
    pool = load_image_dataset("mnist_5k", "train")
    labelled, rest = split_labelled_pool(pool, 25, num_classes=10, seed=1)  # 250, 2750
    ```
    """
    _check_image_label_spec(ds)
    if labels_per_class < 1:
        raise DataError(f"labels_per_class must be at least 1, got {labels_per_class}")
    keep = choose_per_class(_labels_of(ds), labels_per_class, num_classes, seed)
    return _select(ds, keep), _select(ds, ~keep)


def dataset_to_numpy(ds):
    """Reads a small ``(image, label)`` data set into memory as numpy arrays.

    Args:
        ds: unbatched ``(image [H, W, C], label)`` pairs.

    Returns:
        ``(images [N, H, W, C], labels int64 [N])``; images keep their dtype (uint8 from
        ``load_image_dataset``).

    Examples:

    ```python
    images, labels = dataset_to_numpy(load_image_dataset("mnist_5k", "test"))
    images.shape, labels.shape  # (2000, 28, 28, 1), (2000,)
    ```
    """
    image_spec, _ = _check_image_label_spec(ds)
    images, labels = [], []
    for image_batch, label_batch in ds.batch(_LABEL_BATCH).as_numpy_iterator():
        images.append(image_batch)
        labels.append(label_batch)
    if not images:
        shape = tuple(d or 0 for d in image_spec.shape.as_list())
        return np.zeros((0, *shape), image_spec.dtype.as_numpy_dtype), np.zeros(0, np.int64)
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def _builder(name, data_dir):
    """Returns the (unprepared) TFDS builder of an image classification set."""
    if name in LOCAL_BUILDERS:
        return LOCAL_BUILDERS[name](data_dir=data_dir or default_data_dir())
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        raise DataError(
            f"unknown data set {name!r}: use a name from tfds.list_builders() or a local "
            f"set ({', '.join(LOCAL_DATASETS)})"
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


def _check_image_label_spec(ds):
    spec = ds.element_spec
    if (
        isinstance(spec, tuple)
        and len(spec) == 2
        and all(isinstance(s, tf.TensorSpec) for s in spec)
        and spec[0].shape.rank == 3
        and spec[1].shape.rank == 0
        and spec[1].dtype.is_integer
    ):
        return spec
    raise DataError(
        f"expected unbatched (image [H, W, C], integer label) pairs, got {spec}: "
        "load the set with load_image_dataset"
    )


def _to_float(image_shape):
    def cast(images, labels):
        images = tf.cast(images, tf.float32)
        if image_shape is not None:
            # Sets with variable image sizes only show their shape at run time.
            images = tf.ensure_shape(images, (None, *image_shape))
        return images, tf.cast(labels, tf.int64)

    return cast


def _shape_str(shape):
    return str(tuple(shape.as_list()))


def _labels_of(ds):
    batches = ds.map(lambda image, label: label).batch(_LABEL_BATCH)
    labels = list(batches.as_numpy_iterator())
    return np.concatenate(labels).astype(np.int64) if labels else np.zeros(0, np.int64)


def choose_per_class(labels, labels_per_class, num_classes, seed):
    """Returns a boolean mask over ``labels`` that is True for the chosen examples."""
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(
            f"labels range over {labels.min()}..{labels.max()} but num_classes={num_classes}: "
            "pass the data set's number of classes"
        )
    counts = np.bincount(labels, minlength=num_classes)
    short = np.flatnonzero(counts < labels_per_class)
    if len(short):
        raise DataError(
            f"class {short[0]} has only {counts[short[0]]} examples but "
            f"labels_per_class={labels_per_class}: lower it or use a larger split"
        )
    # A numpy generator, unlike tf.data's shuffle, ignores TensorFlow's global seed.
    order = np.random.default_rng(seed).permutation(len(labels))
    keep = np.zeros(len(labels), bool)
    for label in range(num_classes):
        keep[order[labels[order] == label][:labels_per_class]] = True
    return keep


def _select(ds, keep):
    keep_tensor = tf.constant(keep)
    selected = ds.enumerate().filter(lambda index, element: keep_tensor[index])
    selected = selected.map(lambda index, element: element)
    # Filtering hides the size; restoring it lets image_pipeline and fit() see it.
    return selected.apply(tf.data.experimental.assert_cardinality(int(keep.sum())))
