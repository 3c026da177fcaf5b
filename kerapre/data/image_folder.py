"""A user's folder of images sorted into class folders, as an image classification set.

``data.name`` may be a directory laid out as Keras' ``image_dataset_from_directory`` expects,
``root/<class>/<image>`` (PNG, JPEG, BMP or GIF; subfolders of a class folder belong to it),
or one with ``train/``, ``validation/`` and ``test/`` trees of that layout. Class names are the
sorted names of the class folders (of ``train/`` in a split layout). A single tree is split
by a fixed-seed stratified split (``validation_fraction``, ``test_fraction``), the same on
every machine and never putting a file in two splits; in a split layout a split not given is
carved out of ``train`` the same way. Within a split, images come in the order of their file
names (then class names), not class by class.

Images are decoded once (a GIF's first frame) and prepared into the cache
(``kerapre.data.user_cache``) with one channel count for the whole set: 1 if every image is
greyscale, else 3 (greyscale images repeated into RGB); an alpha channel is dropped.
Their sizes are kept: ``image_pipeline`` converts channels to the model's and resizes only
with ``resize=True`` (``data.resize``).
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image, UnidentifiedImageError

from kerapre.data.stratified_split import carve_splits, check_fractions
from kerapre.data.user_cache import file_fingerprint, prepared_user_set
from kerapre.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLITS = ("train", "validation", "test")
# Files are drawn into the splits at random; a constant seed keeps every machine's splits identical.
SPLIT_SEED = 20261206
# PIL modes of one grey channel (with or without alpha).
_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"}
UNLABELLED = "images"  # the one class of a flat folder read without labels


@dataclasses.dataclass(frozen=True)
class FolderOptions:
    """How a single image tree is split.

    Args:
        validation_fraction: the part of the images of each class held out as ``validation``
            (when no ``validation/`` tree is given).
        test_fraction: the same for ``test``.
    """

    validation_fraction: float = 0.1
    test_fraction: float = 0.1

    def __post_init__(self):
        check_fractions(self.validation_fraction, self.test_fraction)

    @classmethod
    def from_config(cls, data):
        """The options of a config's data section (``data.validation_fraction``, ...)."""
        return cls(**{field.name: getattr(data, field.name) for field in dataclasses.fields(cls)
                      if hasattr(data, field.name)})


def is_image_folder(name):
    """Whether ``name`` is a directory (then it must be an image folder) rather than a TFDS name."""
    return os.path.isdir(os.fspath(name))


def scan_image_folder(root, labelled=True):
    """The images of a folder, split by its layout.

    Args:
        root: a ``root/<class>/<image>`` tree or one with ``train/`` (``validation/``,
            ``test/``) trees of that layout.
        labelled: the classes are needed. Without (self-supervised pretraining), a folder of
            images with no class folders is one class, ``images``, and one class is enough.

    Returns:
        ``({split or None: [(path, class name)]}, class names)``; ``None`` for a single tree.

    Raises:
        DataError: if the folder has no class folders, a class folder has no image, a file
            is not a PNG, JPEG, BMP or GIF image, there is one class, or a validation or
            test class is not among the training classes.
    """
    splits = [split for split in SPLITS if os.path.isdir(os.path.join(root, split))]
    if "train" in splits:
        trees = {split: _class_files(os.path.join(root, split)) for split in splits}
    elif splits:
        raise DataError(f"{root} has {'/'.join(splits)}/ but no train/: add a train/ tree of class folders")
    elif not labelled and not _subfolders(root):
        images = _image_files(root)
        if not images:
            raise DataError(f"{root} has no images: add PNG, JPEG, BMP or GIF files")
        trees = {None: {UNLABELLED: images}}
    else:
        trees = {None: _class_files(root)}
    train = trees.get("train", trees.get(None))
    names = tuple(sorted(train))
    if labelled and len(names) < 2:
        raise DataError(
            f"{root} has one class folder ({names[0]}): a classifier needs at least two, "
            "one folder of images per class"
        )
    for split, tree in trees.items():
        unseen = sorted(set(tree) - set(names))
        if unseen:
            raise DataError(
                f"{os.path.join(root, split)} has class folders that train/ lacks ({', '.join(unseen)}): "
                "add training images of them or remove those folders"
            )
    files = {split: sorted(((path, name) for name, paths in tree.items() for path in paths),
                           key=lambda item: (os.path.basename(item[0]), item[1], item[0]))
             for split, tree in trees.items()}
    return files, names


def prepare_image_folder(source, options, data_dir, log=print, labelled=True):
    """The prepared TFDS set of an image folder (prepared now if it is not in the cache).

    Args:
        source: the folder.
        options: a ``FolderOptions``.
        data_dir: the cache root.
        log: where the preparing line goes.
        labelled: as for ``scan_image_folder`` (``False``: a flat folder of images is allowed).

    Returns:
        A TFDS builder whose supervised keys are ``("image", "label")``.

    Raises:
        DataError: as for ``scan_image_folder``, or naming a file that cannot be decoded.
    """
    files, names = scan_image_folder(source, labelled=labelled)
    every = [path for listed in files.values() for path, _ in listed]
    fingerprint = file_fingerprint(sorted(every), **dataclasses.asdict(options), classes=list(names))

    def build():
        channels, sizes = _survey(every)
        shape = (*sizes.pop(), channels) if len(sizes) == 1 else (None, None, channels)
        ids = {name: index for index, name in enumerate(names)}
        train = files.get("train", files.get(None))
        given = {split: ([path for path, _ in items], [ids[name] for _, name in items])
                 for split, items in files.items() if split in ("validation", "test")}
        splits = carve_splits([path for path, _ in train], [path for path, _ in train], [ids[name] for _, name in train],
                              given, {"validation": options.validation_fraction, "test": options.test_fraction},
                              SPLIT_SEED, where=source, class_names=names)
        features = tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=shape),
            "label": tfds.features.ClassLabel(names=list(names)),
        })
        metadata = {
            "label_counts": {split: np.bincount(labels, minlength=len(names)).tolist()
                             for split, (_, labels) in splits.items()},
            "source": os.path.abspath(source),
            "mixed_sizes": shape[0] is None,
        }
        examples = {split: _examples(paths, labels, channels) for split, (paths, labels) in splits.items()}
        return features, examples, ("image", "label"), metadata

    return prepared_user_set(source, "images", fingerprint, build, data_dir, log,
                             variant={**dataclasses.asdict(options), "labelled": labelled})


def decode_image_file(path, channels):
    """Decodes an image file to ``uint8 [H, W, channels]`` (``channels`` 1 or 3; alpha dropped,
    grey repeated into RGB, RGB to grey by ``tf.image.rgb_to_grayscale``'s luma weights).

    Raises:
        DataError: naming the file if it cannot be decoded.
    """
    if path.lower().endswith(".bmp"):  # TensorFlow reads a palette BMP's indices as grey levels
        try:
            with Image.open(path) as bmp:
                pixels = np.asarray(bmp.convert("L" if bmp.mode in _GREY_MODES else "RGB"))
        except (UnidentifiedImageError, OSError) as error:
            raise DataError(f"{path} cannot be decoded ({error}): replace or remove it") from None
        return convert_channels(tf.constant(pixels.reshape(*pixels.shape[:2], -1)), channels)
    try:
        image = tf.io.decode_image(tf.io.read_file(path), channels=0, dtype=tf.uint8, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        raise DataError(f"{path} cannot be decoded ({error.message.splitlines()[0]}): replace or remove it") from None
    return convert_channels(image, channels)


def convert_channels(image, channels):
    """``image [..., C]`` with ``channels`` channels: alpha dropped, grey → RGB by repeating
    the channel, RGB → grey by ITU-R 601 luma (``tf.image.rgb_to_grayscale``), rounded for
    integer images."""
    have = image.shape[-1]
    if have in (2, 4):
        image = image[..., :have - 1]
        have -= 1
    if have == channels:
        return image
    if have == 1 and channels == 3:
        return tf.image.grayscale_to_rgb(image)
    if have == 3 and channels == 1:
        if image.dtype.is_integer:
            grey = tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))
            return tf.cast(tf.clip_by_value(tf.round(grey), 0, image.dtype.max), image.dtype)
        return tf.image.rgb_to_grayscale(image)
    raise DataError(f"cannot convert images of {have} channels to {channels}: give greyscale or RGB images")


def _subfolders(directory):
    return sorted(name for name in os.listdir(directory)
                  if not name.startswith(".") and os.path.isdir(os.path.join(directory, name)))


def _class_files(directory):
    """``{class name: [image paths]}`` of a tree of class folders."""
    classes = _subfolders(directory)
    if not classes:
        raise DataError(
            f"{directory} has no class folders: put each class's images in a folder named for the class, "
            f"e.g. {os.path.join(directory, 'cat', '001.jpg')}"
        )
    tree = {}
    for name in classes:
        paths = _image_files(os.path.join(directory, name))
        if not paths:
            raise DataError(f"class folder {os.path.join(directory, name)} has no images: add some or remove it")
        tree[name] = paths
    return tree


def _image_files(directory):
    """The image files under ``directory`` (its subfolders too), hidden ones skipped."""
    paths, seen = [], set()
    for folder, subfolders, filenames in os.walk(directory, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            path = os.path.join(folder, filename)
            if os.path.splitext(filename)[1].lower() not in IMAGE_SUFFIXES:
                raise DataError(
                    f"{path} is not a PNG, JPEG, BMP or GIF image: convert it or move it out of the folder"
                )
            paths.append(path)
    return paths


def _survey(paths):
    """``(channels, {(height, width)})`` of the images, from their headers (nothing decoded)."""
    grey, sizes = True, set()
    for path in paths:
        try:
            with Image.open(path) as image:
                width, height = image.size
                grey = grey and image.mode in _GREY_MODES
        except (UnidentifiedImageError, OSError) as error:
            raise DataError(f"{path} is not a readable image ({error}): replace or remove it") from None
        sizes.add((height, width))
    return (1 if grey else 3), sizes


def _examples(paths, labels, channels):
    for index, (path, label) in enumerate(zip(paths, labels)):
        yield index, {"image": decode_image_file(path, channels).numpy(), "label": int(label)}
