"""From ``(image, label)`` sets to what a model takes: batches for ``fit``, or numpy arrays.

``image_pipeline`` caches, shuffles, batches and prefetches a set from
``load_image_dataset``; ``dataset_to_numpy`` reads a small one into memory.
"""

import warnings

import numpy as np
import tensorflow as tf

from kerapre.data.image_folder import convert_channels
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
    resize=False,
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
        image_shape: the ``(H, W, C)`` the model expects: channels are converted to it
            (``conform_images``), sizes checked (or resized with ``resize``).
        cache: keep the decoded images in memory after the first epoch.
        shuffle_buffer: shuffle buffer size; at least the set size gives a full shuffle.
        drop_remainder: drop the last batch if it is smaller than ``batch_size``.
        repeat: repeat forever (then give ``steps_per_epoch`` to ``fit``).
        resize: resize images to ``image_shape`` (``data.resize``) instead of refusing
            another size.

    Returns:
        A ``tf.data.Dataset`` of ``(images float32 [B, H, W, C], labels int64 [B])``.

    Raises:
        DataError: if the elements are not ``(image, label)`` pairs, the images do not
            have ``image_shape``'s size (without ``resize``), or the set is known to be empty.

    Examples:

    ```python
    train = image_pipeline(load_image_dataset("mnist_5k", "train"), batch_size=32,
                           training=True, image_shape=(28, 28, 1))
    images, labels = next(iter(train))  # float32 (32, 28, 28, 1), int64 (32,)
    ```
    """
    check_image_label_spec(ds)
    warn_if_unit_range(ds)
    if image_shape is not None:
        ds = conform_images(ds, image_shape, resize=resize)
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


def warn_if_unit_range(images, sample=256):
    """Warns when float images all lie in [0, 1] (the first ``sample`` of them): kerapre's
    models rescale raw 0-255 pixels themselves, so normalised images reach the backbone as
    near-zero inputs, and a frozen backbone fed so scores at chance.

    Args:
        images: an array ``[N, H, W, C]``, or a ``tf.data.Dataset`` of unbatched images or
            ``(image, label)`` pairs.

    Returns:
        Whether it warned.
    """
    if isinstance(images, tf.data.Dataset):
        spec = images.element_spec[0] if isinstance(images.element_spec, tuple) else images.element_spec
        if not spec.dtype.is_floating or int(images.cardinality()) == 0:
            return False
        only_images = images.map(lambda image, *_: image) if isinstance(images.element_spec, tuple) else images
        values = next(iter(only_images.take(sample).batch(sample))).numpy()
    else:
        values = np.asarray(images[:sample])
        if not np.issubdtype(values.dtype, np.floating) or values.size == 0:
            return False
    if values.min() < 0 or values.max() > 1:
        return False
    warnings.warn(
        "the images are floats in [0, 1], but kerapre models rescale raw 0-255 pixels themselves: "
        "pass the pixels unnormalised (x * 255), or a frozen backbone sees near-zero inputs and scores at chance",
        UserWarning, stacklevel=3)
    return True


def conform_images(ds, image_shape, resize=False, resize_key="data.resize"):
    """``ds`` with its images converted to ``image_shape``'s channels and, with ``resize``, size.

    Channels follow ``kerapre.data.image_folder.convert_channels``: an alpha channel is
    dropped, grey becomes RGB by repeating the channel, RGB becomes grey by ITU-R 601 luma.
    Sizes are changed only with ``resize`` (bilinear, rounded back to the images' dtype);
    otherwise another size, or images of varying sizes, is an error naming ``resize_key``.

    Args:
        ds: unbatched ``(image [H, W, C], label)`` pairs, or unbatched images.
        image_shape: the model's ``(H, W, C)``.
        resize: resize every image to ``(H, W)``.
        resize_key: the config key the error messages name.

    Raises:
        DataError: if the sizes differ without ``resize``, or the channels cannot be converted.

    Examples:

    ```python
    ds = conform_images(load_image_dataset("cifar10", "test"), (28, 28, 1), resize=True)
    ```
    """
    labelled = isinstance(ds.element_spec, tuple)
    spec = check_image_label_spec(ds)[0] if labelled else ds.element_spec
    conform = _conformer(spec, image_shape, resize, resize_key)
    if conform is None:
        return ds
    if labelled:
        return ds.map(lambda image, label: (conform(image), label), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(conform, num_parallel_calls=tf.data.AUTOTUNE)


def _conformer(spec, image_shape, resize, resize_key):
    """The function that makes one image of ``spec`` an image of ``image_shape`` (None: nothing to do)."""
    height, width, channels = spec.shape.as_list()
    want_height, want_width, want_channels = image_shape
    fix = (f"pass {resize_key}" if resize_key.startswith("--")
           else f"set {resize_key}: true (--set {resize_key}=true)")
    steps = []
    if channels != want_channels:
        if channels not in (1, 2, 3, 4) or want_channels not in (1, 3):
            raise DataError(
                f"data set yields images of {channels or 'varying'} channels but the model expects "
                f"{want_channels}: give greyscale or RGB images"
            )
        steps.append(lambda image: convert_channels(image, want_channels))
    if (height, width) != (want_height, want_width):
        if not resize:
            if height is None or width is None:
                raise DataError(
                    f"the images vary in size but the model takes {want_height}x{want_width}: {fix} to "
                    "resize them"
                )
            raise DataError(
                f"data set yields images of shape {_shape_str(spec.shape)} but the model expects "
                f"{tuple(image_shape)}: {fix} to resize them, or "
                f"choose a preset made for {height}x{width} images"
            )

        def resized(image):
            out = tf.image.resize(image, (want_height, want_width))
            if image.dtype.is_integer:
                out = tf.cast(tf.clip_by_value(tf.round(out), 0, image.dtype.max), image.dtype)
            return tf.ensure_shape(out, (want_height, want_width, want_channels))

        steps.append(resized)
    if not steps:
        return None

    def conform(image):
        for step in steps:
            image = step(image)
        return image

    return conform


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
