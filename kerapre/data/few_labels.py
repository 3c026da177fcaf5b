"""Few labels per class: a seeded subset of ``labels_per_class`` examples of every class.

For label-efficiency runs: the choice depends only on the seed and the order of the
set, and the rest of the set comes back as a disjoint remainder.
"""

import numpy as np
import tensorflow as tf

from kerapre.data.image_pipeline import LABEL_BATCH, check_image_label_spec
from kerapre.errors import DataError

# Validation examples held out of a pool never depend on a run's seed (reports, fine-tuning).
VALIDATION_SEED = 1_000_003


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
    check_image_label_spec(ds)
    if labels_per_class < 1:
        raise DataError(f"labels_per_class must be at least 1, got {labels_per_class}")
    keep = choose_per_class(_labels_of(ds), labels_per_class, num_classes, seed)
    return select_examples(ds, keep), select_examples(ds, ~keep)


def _labels_of(ds):
    batches = ds.map(lambda image, label: label).batch(LABEL_BATCH)
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


def select_examples(ds, keep):
    """The elements of ``ds`` where the boolean mask ``keep`` is True, with their count known."""
    keep_tensor = tf.constant(keep)
    selected = ds.enumerate().filter(lambda index, element: keep_tensor[index])
    selected = selected.map(lambda index, element: element)
    # Filtering hides the size; restoring it lets image_pipeline and fit() see it.
    return selected.apply(tf.data.experimental.assert_cardinality(int(keep.sum())))
