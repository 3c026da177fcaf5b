"""The target task of a label-efficiency report, in memory: a labelled pool, a validation split
every choice is made on, and a test split that is only reported."""

import dataclasses

import numpy as np

from kerapre.data.few_labels import VALIDATION_SEED, choose_per_class


@dataclasses.dataclass
class Target:
    """A labelled target task held in memory.

    Attributes:
        name: the data set.
        x_pool, y_pool: the labelled pool the training subsets are drawn from (images, or
            texts: an array of strings, or a tuple of two for sentence pairs).
        x_val, y_val: the validation split every choice is made on.
        x_test, y_test: the test split, only reported.
        num_classes: number of classes.
        validation: how the validation split was made (for the report).
    """

    name: str
    x_pool: object
    y_pool: np.ndarray
    x_val: object
    y_val: np.ndarray
    x_test: object
    y_test: np.ndarray
    num_classes: int
    validation: str

    @property
    def majority_rate(self):
        """Test accuracy of always predicting the most frequent test class."""
        counts = np.bincount(self.y_test, minlength=self.num_classes)
        return float(counts.max() / counts.sum())

    def per_class_pool(self):
        """The smallest class's number of examples in the pool ("all" labels per class)."""
        return int(np.bincount(self.y_pool, minlength=self.num_classes).min())


def load_image_target(name, validation_per_class=50, data_dir=None, limit=None, folder=None, image_shape=None,
                      resize=False):
    """The ``train`` pool, a validation split and the ``test`` split of an image set, as arrays.

    The validation split is the set's own ``validation`` split if it has one, else
    ``validation_per_class`` examples per class held out of ``train`` with a fixed seed (the
    same for every run, never among the labels a run trains on). ``limit`` keeps the first
    ``limit`` examples of each (for smoke runs). ``folder`` splits an image folder;
    ``image_shape`` converts the images' channels to the models' (``resize``: their size too).
    """
    from kerapre.data.image_pipeline import conform_images, dataset_to_numpy
    from kerapre.data.images import image_dataset_info, load_image_dataset

    info = image_dataset_info(name, data_dir=data_dir, folder=folder)

    def arrays(split):
        ds = load_image_dataset(name, split, data_dir=data_dir, folder=folder)
        if image_shape is not None:
            ds = conform_images(ds, image_shape, resize=resize, resize_key="resize")
        return dataset_to_numpy(ds)

    return build_target(name, arrays, info, validation_per_class, limit)


def load_text_target(name, validation_per_class=500, data_dir=None, limit=None, table=None):
    """As ``load_image_target`` for a text classification set (texts as arrays of str; a
    tuple of two such arrays for sentence pairs); ``table`` reads a user's table."""
    from kerapre.data.text_classification import load_text_classification, text_dataset_info

    info = text_dataset_info(name, data_dir=data_dir, table=table)

    def arrays(split):
        texts, labels = [], []
        for x, y in load_text_classification(name, split, data_dir=data_dir, table=table).as_numpy_iterator():
            texts.append(tuple(t.decode("utf-8") for t in x) if info.pair else x.decode("utf-8"))
            labels.append(y)
        labels = np.asarray(labels, np.int64)
        if info.pair:
            return tuple(np.asarray([t[i] for t in texts], object) for i in range(2)), labels
        return np.asarray(texts, object), labels

    return build_target(name, arrays, info, validation_per_class, limit)


def build_target(name, arrays, info, validation_per_class, limit):
    """The ``Target`` of a set whose ``arrays(split)`` gives ``(inputs, labels)``: its own
    validation split, else ``validation_per_class`` per class held out of ``train``."""
    x_pool, y_pool = arrays("train")
    x_test, y_test = arrays("test")
    if "validation" in info.split_sizes:
        x_val, y_val = arrays("validation")
        how = f"the {name} validation split ({len(y_val)} examples)"
    else:
        held = choose_per_class(y_pool, validation_per_class, info.num_classes, VALIDATION_SEED)
        x_val, y_val = take(x_pool, held), y_pool[held]
        x_pool, y_pool = take(x_pool, ~held), y_pool[~held]
        how = (f"{validation_per_class} examples per class held out of {name}[train] "
               f"({len(y_val)}; the same for every run, never trained on)")
    target = Target(name, x_pool, y_pool, x_val, y_val, x_test, y_test, info.num_classes, how)
    if not limit:
        return target
    keep = slice(0, limit)
    return dataclasses.replace(
        target, x_pool=take(x_pool, keep), y_pool=y_pool[keep], x_val=take(x_val, keep), y_val=y_val[keep],
        x_test=take(x_test, keep), y_test=y_test[keep], validation=f"{how}, first {limit} kept")


def take(x, index):
    """The examples at ``index`` of inputs that are an array, a tuple of arrays (pairs) or a dict."""
    if isinstance(x, dict):
        return {k: v[index] for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(v[index] for v in x)
    return x[index]


def labelled_subset(target, labels_per_class, seed):
    """Indices into the pool of ``labels_per_class`` examples per class (``None``: all)."""
    if labels_per_class is None:
        return np.arange(len(target.y_pool))
    return np.flatnonzero(choose_per_class(target.y_pool, labels_per_class, target.num_classes, seed))
