"""A fixed-seed split of labelled examples, stratified by class, that keeps equal keys together."""

import numpy as np

from kerapre.errors import DataError


def stratified_split(keys, labels, fractions, seed):
    """Assigns every example to a split, class by class, keeping examples with equal keys together.

    Within each class the distinct keys are shuffled with a fixed seed and cut in the
    proportions of ``fractions`` (the held-out sizes are rounded, the first split takes the
    rest), so each split has the class balance of the whole set and the same call gives the
    same splits on every machine. Examples of one class that share a key (the same sentence
    twice) all go to one split; a key under two labels is grouped per label.

    Args:
        keys: a hashable, sortable key of every example (its text, its file path).
        labels: the int label of every example.
        fractions: ``{split: fraction}``; the first split gets the remainder.
        seed: seed of the numpy generator.

    Returns:
        ``{split: sorted int array of example indices}``.

    Examples:

    ```python
    splits = stratified_split(["a", "b", "c", "d"], [0, 0, 1, 1], {"train": 0.5, "test": 0.5}, seed=0)
    ```
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    names = list(fractions)
    chosen = {name: [] for name in names}
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        groups = {}
        for row in rows:
            groups.setdefault(keys[row], []).append(row)
        distinct = [groups[key] for key in sorted(groups)]
        order = rng.permutation(len(distinct))
        start = len(distinct)
        for name in names[:0:-1]:  # the held-out splits, cut from the end
            size = round(len(distinct) * fractions[name])
            chosen[name].extend(row for i in order[start - size:start] for row in distinct[i])
            start -= size
        chosen[names[0]].extend(row for i in order[:start] for row in distinct[i])
    return {name: np.sort(np.asarray(rows, dtype=np.int64)) for name, rows in chosen.items()}


SPLITS = ("train", "validation", "test")


def check_fractions(validation_fraction, test_fraction, key_prefix="data."):
    """Raises DataError unless both fractions are in [0, 1) and leave something for train."""
    for name, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise DataError(f"{key_prefix}{name} must be in [0, 1), got {value}")
    if validation_fraction + test_fraction >= 1:
        raise DataError(f"{key_prefix}validation_fraction + {key_prefix}test_fraction must leave some examples "
                        f"for train, got {validation_fraction} + {test_fraction}")


def carve_splits(items, keys, labels, given, fractions, seed, *, where, class_names, key_prefix="data."):
    """The splits of a user's set: the held-out splits it gives, and those it lacks cut out of
    its training items by ``stratified_split``.

    Args:
        items: the training items (rows, file paths), in order.
        keys: the key of each item (equal keys stay in one split).
        labels: the int label of each item.
        given: ``{split: (items, labels)}`` of the ``validation``/``test`` splits given.
        fractions: ``{"validation": fraction, "test": fraction}``; a split not given and with
            a fraction above 0 is cut out of the training items.
        seed: the split's seed.
        where: the source, for messages.
        class_names: the name of each label, for messages.
        key_prefix: how messages name the fraction keys.

    Returns:
        ``{split: (items, int64 labels)}`` in ``train``, ``validation``, ``test`` order.

    Raises:
        DataError: if a split cut out would be empty, or a class would keep no training item.
    """
    labels = np.asarray(labels, dtype=np.int64)
    cut = {split: fraction for split, fraction in fractions.items() if split not in given and fraction > 0}
    out = {"train": (list(items), labels)}
    if cut:
        rows_of = stratified_split(keys, labels, {"train": 1.0 - sum(cut.values()), **cut}, seed)
        for split, rows in rows_of.items():
            if split != "train" and not len(rows):
                raise DataError(
                    f"{where}: a {split} split of {cut[split]:g} of each class is empty (too few examples per "
                    f"class): add examples, or set {key_prefix}{split}_fraction to 0"
                )
            out[split] = ([items[i] for i in rows], labels[rows])
        kept = set(out["train"][1].tolist())
        lost = [class_names[label] for label in sorted(set(labels.tolist()) - kept)]
        if lost:
            raise DataError(
                f"{where}: class {lost[0]!r} keeps no training example once validation and test are held out: "
                f"add examples of it, or lower {key_prefix}validation_fraction and {key_prefix}test_fraction"
            )
    for split, (split_items, split_labels) in given.items():
        out[split] = (list(split_items), np.asarray(split_labels, dtype=np.int64))
    return {split: out[split] for split in SPLITS if split in out}
