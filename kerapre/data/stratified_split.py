"""A fixed-seed split of labelled examples, stratified by class, that keeps equal keys together."""

import numpy as np


def stratified_split(keys, labels, fractions, seed):
    """Assigns every example to a split, class by class, keeping examples with equal keys together.

    Within each class the distinct keys are shuffled with a fixed seed and cut in the
    proportions of ``fractions`` (the held-out sizes are rounded, the first split takes the
    rest), so each split has the class balance of the whole set and the same call gives the
    same splits on every machine. Examples that share a key (the same sentence twice, the
    same file) all go to one split, so no held-out example is also a training example.

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
