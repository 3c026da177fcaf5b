"""From ``(image, label)`` sets to what a model takes: batches for ``fit``, or numpy arrays.

``image_pipeline`` caches, shuffles, batches and prefetches a set from
``load_image_dataset``; ``dataset_to_numpy`` reads a small one into memory.
"""

import numpy as np
import tensorflow as tf

from kerapre.errors import DataError

# Enough to make the label pass a handful of iterations without holding much memory.
LABEL_BATCH = 8192


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
    image_spec, _ = check_image_label_spec(ds)
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
    image_spec, _ = check_image_label_spec(ds)
    images, labels = [], []
    for image_batch, label_batch in ds.batch(LABEL_BATCH).as_numpy_iterator():
        images.append(image_batch)
        labels.append(label_batch)
    if not images:
        shape = tuple(d or 0 for d in image_spec.shape.as_list())
        return np.zeros((0, *shape), image_spec.dtype.as_numpy_dtype), np.zeros(0, np.int64)
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def check_image_label_spec(ds):
    """Returns ``ds``'s unbatched ``(image, label)`` element spec, or raises DataError."""
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
