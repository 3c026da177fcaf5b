"""Text classification data: load ``(text, label)`` sets, describe them, and pick few labels.

The local set (``rotten_tomatoes``) and online TFDS sets (``glue/sst2``, ``imdb_reviews``,
or any TFDS set whose supervised keys are a text and a class label) load through the
same call and yield the same ``(text string, label int64)`` elements. The GLUE
sentence-pair sets (``glue/mrpc``, ``glue/rte``, ``glue/qqp``, ``glue/mnli``, ...) yield
``((first string, second string), label int64)``.
"""

import dataclasses
import functools
import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from kerapre.data.builders.rotten_tomatoes import RottenTomatoes
from kerapre.data.few_labels import choose_per_class, select_examples
from kerapre.data.images import default_data_dir
from kerapre.data.splits import prepare_builder, read_split
from kerapre.data.text_table import TableOptions, is_text_table, prepare_text_table
from kerapre.errors import DataError

LOCAL_TEXT_BUILDERS = {RottenTomatoes.name: RottenTomatoes}
# (text feature, label feature) of the sets kerapre knows; other TFDS sets need supervised
# keys (glue has none).
TEXT_LABEL_KEYS = {
    "rotten_tomatoes": ("text", "label"),
    "glue/sst2": ("sentence", "label"),
    "imdb_reviews": ("text", "label"),
}
# (first text feature, second text feature, label feature) of the sentence-pair sets kerapre
# knows.
TEXT_PAIR_KEYS = {
    "glue/mrpc": ("sentence1", "sentence2", "label"),
    "glue/rte": ("sentence1", "sentence2", "label"),
    "glue/wnli": ("sentence1", "sentence2", "label"),
    "glue/qqp": ("question1", "question2", "label"),
    "glue/qnli": ("question", "sentence", "label"),
    "glue/mnli": ("premise", "hypothesis", "label"),
    "glue/mnli_matched": ("premise", "hypothesis", "label"),
    "glue/mnli_mismatched": ("premise", "hypothesis", "label"),
}
# Splits whose examples all have label -1 (no label).
UNLABELLED_SPLITS = {"glue": ("test", "test_matched", "test_mismatched"), "imdb_reviews": ("unsupervised",)}
_LABEL_BATCH = 8192


@dataclasses.dataclass(frozen=True)
class TextDatasetInfo:
    """What a model and a report need to know about a text classification set.

    Args:
        name: the data set name, as given to ``load_text_classification``.
        num_classes: number of classes; labels are ``0 .. num_classes - 1``.
        label_names: the name of each class, indexed by label.
        split_sizes: ``{split: number of examples}``.
        label_counts: ``{split: [examples of each class]}`` of the labelled splits.
        majority_rates: ``{split: accuracy of always predicting the split's most frequent
            class}``, the baseline a classifier must beat.
        license: the data's licence, as its TFDS builder states it (goes into exports).
        homepage: where the data comes from.
        pair: each example is a sentence pair ``((first, second), label)``.

    Examples:

    ```python
    info = text_dataset_info("rotten_tomatoes")
    info.label_names, info.majority_rates["test"]  # ("rotten", "fresh"), 0.576...
    ```
    """

    name: str
    num_classes: int
    label_names: tuple
    split_sizes: dict
    label_counts: dict
    majority_rates: dict
    license: str = ""
    homepage: str = ""
    pair: bool = False


def load_text_classification(name, split, data_dir=None, table=None):
    """Loads one split of a text classification set as ``(text, label)`` pairs.

    ``rotten_tomatoes`` is built from a file already on this machine (see
    ``kerapre.data.builders.rotten_tomatoes``) the first time it is used, then read from
    ``data_dir``. Any other name is a TFDS set, downloaded by TFDS on first use:
    ``glue/sst2`` (its ``sentence``), ``imdb_reviews``, or any set whose supervised keys
    are a text and a class label. The sentence-pair sets of ``TEXT_PAIR_KEYS``
    (``glue/mrpc``, ``glue/rte``, ``glue/qqp``, ``glue/mnli``, ...; see
    ``is_pair_dataset``) yield ``((first, second), label)``. Elements come in a fixed
    order (files are not shuffled). A ``.csv``, ``.tsv`` or ``.jsonl`` file, or a directory
    of ``train``/``validation``/``test`` tables, is the user's own set (see
    ``kerapre.data.text_table``), prepared into the cache once and read in file order.

    Args:
        name: ``rotten_tomatoes``, ``glue/sst2``, ``imdb_reviews``, a GLUE sentence-pair
            set, another TFDS text classification set, or a table file or directory.
        split: a TFDS split, slicing allowed: ``"train"``, ``"validation[:50%]"``.
        data_dir: where prepared sets live. Defaults to ``default_data_dir()`` for the
            local set and the user's tables, and to TFDS's own default for online ones.
        table: a ``TableOptions`` for a table (its columns and split fractions; default
            ``TableOptions()``).

    Returns:
        A ``tf.data.Dataset`` of ``(text string [], label int64 [])``, or for a pair set
        of ``((first string [], second string []), label int64 [])``.

    Raises:
        DataError: if the set is unknown, is not text with class labels, has no such
            split, the split has no labels, or the local source file is missing.

    Examples:

    ```python
    ds = load_text_classification("rotten_tomatoes", "train")
    text, label = next(iter(ds))  # b"...", 1
    (first, second), label = next(iter(load_text_classification("glue/mrpc", "validation")))
    ```
    """
    builder, text_keys, label_key = _builder(name, data_dir, table)
    _check_labelled(name, split)
    prepare_builder(builder, builder.name in LOCAL_TEXT_BUILDERS)
    ds = read_split(builder, name, split)

    def texts_and_label(example):
        texts = tuple(example[key] for key in text_keys)
        return texts if len(texts) == 2 else texts[0], tf.cast(example[label_key], tf.int64)

    return ds.map(texts_and_label)


def is_pair_dataset(name):
    """Whether ``name`` is a sentence-pair set, whose elements are ``((first, second), label)``.

    Examples:

    ```python
    is_pair_dataset("glue/mrpc"), is_pair_dataset("glue/sst2")  # True, False
    ```
    """
    return name.split(":")[0] in TEXT_PAIR_KEYS


def text_dataset_info(name, data_dir=None, table=None):
    """Describes a text classification set: its classes and each split's majority-class rate.

    The set is prepared first (seconds for ``rotten_tomatoes``; an online set is
    downloaded). ``rotten_tomatoes`` records its label counts when it is prepared (in
    ``info.metadata``); for other sets they are counted once per process and cached.

    Args:
        name: a data set name, as for ``load_text_classification``.
        data_dir, table: as for ``load_text_classification``.

    Returns:
        A ``TextDatasetInfo``.

    Raises:
        DataError: as for ``load_text_classification``.

    Examples:

    ```python
    info = text_dataset_info("rotten_tomatoes")
    info.num_classes, info.split_sizes["train"]  # 2, 10242
    text_dataset_info("glue/mnli").pair  # True
    ```
    """
    builder, text_keys, label_key = _builder(name, data_dir, table)
    prepare_builder(builder, builder.name in LOCAL_TEXT_BUILDERS)
    label_feature = builder.info.features[label_key]
    splits = {split: info.num_examples for split, info in builder.info.splits.items()}
    stored = builder.info.metadata.get("label_counts") if builder.info.metadata is not None else None
    counts = stored or _count_labels(name, data_dir, table, tuple(sorted(splits)), label_feature.num_classes)
    counts = {split: list(c) for split, c in counts.items()}
    return TextDatasetInfo(
        name=name,
        num_classes=label_feature.num_classes,
        label_names=tuple(label_feature.names),
        split_sizes=splits,
        label_counts=counts,
        majority_rates={split: max(c) / sum(c) for split, c in counts.items() if sum(c)},
        license=getattr(builder.info.redistribution_info, "license", "") or "",
        homepage=builder.info.homepage or "",
        pair=len(text_keys) == 2,
    )


def majority_class_rate(ds):
    """The accuracy of always predicting the most frequent label of ``ds``.

    Args:
        ds: unbatched ``(text, label)`` (or ``((first, second), label)``) elements; labels
            below 0 (unlabelled) are ignored.

    Returns:
        A float in ``(0, 1]``, or ``nan`` if ``ds`` has no labelled example.

    Examples:

    ```python
    majority_class_rate(load_text_classification("rotten_tomatoes", "test"))  # 0.576...
    ```
    """
    counts = np.bincount(_labels_of(ds))
    return float(counts.max() / counts.sum()) if counts.sum() else float("nan")


def split_labelled_texts(ds, labels_per_class, num_classes, seed):
    """Splits ``ds`` into ``labels_per_class`` examples per class and everything else.

    The choice depends only on ``seed`` and the order of ``ds`` (as for
    ``kerapre.data.split_labelled_pool`` over images).

    Args:
        ds: ``(text, label)`` (or ``((first, second), label)``) elements in a fixed order, as
            from ``load_text_classification``.
        labels_per_class: how many examples to keep of each class.
        num_classes: number of classes.
        seed: picks the subset.

    Returns:
        ``(labelled, rest)``, two ``tf.data.Dataset`` of the elements of ``ds``.

    Raises:
        DataError: if a class has fewer than ``labels_per_class`` examples or a label is
            out of range.

    Examples:

    ```python
    pool = load_text_classification("rotten_tomatoes", "train")
    labelled, rest = split_labelled_texts(pool, 50, num_classes=2, seed=0)  # 100, 10142
    ```
    """
    if labels_per_class < 1:
        raise DataError(f"labels_per_class must be at least 1, got {labels_per_class}")
    keep = choose_per_class(_labels_of(ds, drop_unlabelled=False), labels_per_class, num_classes, seed)
    return select_examples(ds, keep), select_examples(ds, ~keep)


def text_pipeline(ds, preprocessor, *, batch_size, training, seed=0, cache=True, shuffle_buffer=20_000,
                  pad_to_longest=False, bucket_by_length=False, bucket_pool=32):
    """Batches ``(text, label)`` pairs for ``model.fit``: preprocess, cache, shuffle, batch, prefetch.

    ``preprocessor`` maps chunks of raw text to encoder inputs (``ds.map(preprocessor)``
    over batches, which tokenises far faster than one string at a time); the token ids
    are then cached, so tokenisation runs once, not every epoch.

    Args:
        ds: unbatched ``(text, label)`` pairs, e.g. from ``load_text_classification``;
            for sentence pairs, ``((first, second), label)``.
        preprocessor: a ``BertTextPreprocessor`` (anything that maps ``(x, y)`` batches
            to ``(inputs, y)``).
        batch_size: examples per batch.
        training: if True, shuffle (anew every epoch); if False, keep the order.
        seed: shuffle seed.
        cache: keep the token ids in memory after the first epoch.
        shuffle_buffer: shuffle buffer size; at least the set size gives a full shuffle.
        pad_to_longest: cut each batch to its longest example (``trim_to_longest``), so
            short texts do not pay for the whole sequence length; the encoder's outputs
            for each example do not change (padding is masked). Not for TPUs, which need
            static shapes.
        bucket_by_length: with ``pad_to_longest`` and ``training``, batch examples of
            similar length together (``sort_into_length_batches``), so a batch pads less;
            the batches still come in a shuffled order, and there are as many as without.
        bucket_pool: how many batches' worth of shuffled examples are sorted by length at
            a time (more: less padding, less mixed batches).

    Returns:
        A ``tf.data.Dataset`` of ``(inputs dict of int32 [B, seq], labels int64 [B])``
        (``[B, longest in the batch]`` with ``pad_to_longest``).

    Raises:
        DataError: if the set is known to be empty.

    Examples:

    ```python
    preprocessor = BertTextPreprocessor("vocab.txt", sequence_length=128)
    train = text_pipeline(load_text_classification("rotten_tomatoes", "train"), preprocessor,
                          batch_size=32, training=True)
    ```
    """
    size = int(ds.cardinality())
    if size == 0:
        raise DataError("data set is empty: check the split (e.g. 'train[:10%]') and data.limit")
    ds = ds.batch(256).map(preprocessor, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
    if size > 0:  # unbatch hides the size; fit() shows progress and steps with it
        ds = ds.apply(tf.data.experimental.assert_cardinality(size))
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if training and pad_to_longest and bucket_by_length:
        ds = sort_into_length_batches(ds, batch_size, bucket_pool, seed=seed)
    else:
        ds = ds.batch(batch_size)
    if pad_to_longest:
        ds = ds.map(trim_to_longest)
    return ds.prefetch(tf.data.AUTOTUNE)


def sort_into_length_batches(ds, batch_size, pool, seed=0):
    """Batches shuffled ``(inputs, label)`` examples so that each batch holds examples of
    similar length: every ``pool × batch_size`` examples are sorted by their real length
    (``padding_mask``), cut into batches, and those batches shuffled (a buffer of ``pool``
    batches, anew every epoch). As many batches as ``ds.batch(batch_size)`` gives, the
    same examples, only one partial batch (the set's last pool's longest)."""
    size = int(ds.cardinality())

    def sort_pool(x, *rest):
        order = tf.argsort(tf.reduce_sum(x["padding_mask"], axis=1), stable=True)
        return tuple(tf.nest.map_structure(lambda t: tf.gather(t, order), (x, *rest)))

    ds = ds.batch(pool * batch_size).map(sort_pool).unbatch().batch(batch_size)
    ds = ds.shuffle(pool, seed=seed + 1, reshuffle_each_iteration=True)
    if size > 0:
        ds = ds.apply(tf.data.experimental.assert_cardinality(-(-size // batch_size)))
    return ds


def trim_to_longest(x, *rest):
    """Cuts a batch of right-padded encoder inputs (``padding_mask`` 1 on real tokens) to
    its longest example; the other elements (labels, weights) pass through."""
    length = tf.reduce_max(tf.reduce_sum(x["padding_mask"], axis=1))
    return ({key: value[:, :length] for key, value in x.items()}, *rest)


def length_sorted_batches(inputs, *rest, batch_size):
    """Right-padded encoder inputs (a dict of ``[N, seq]`` arrays, and any arrays beside them,
    such as labels) sorted by real length, batched and each batch cut to its longest
    (``trim_to_longest``): for inference and evaluation, where the order does not matter,
    several times less padding on short texts and the same outputs (padding is masked).

    Returns:
        ``(dataset, order)``: example ``i`` of the dataset is example ``order[i]`` of the inputs.
    """
    order = np.argsort(inputs["padding_mask"].sum(axis=1), kind="stable")
    ordered = ({key: value[order] for key, value in inputs.items()}, *(array[order] for array in rest))
    examples = tf.data.Dataset.from_tensor_slices(ordered if rest else ordered[0])
    return examples.batch(batch_size).map(trim_to_longest), order


def _builder(name, data_dir, table=None):
    """The TFDS builder of a text classification set (unprepared, except a user's table, which
    is prepared here), its text feature names (one, or two for a pair) and its label feature
    name."""
    path = os.path.expanduser(os.fspath(name))
    if is_text_table(path):
        return prepare_text_table(path, table or TableOptions(), data_dir or default_data_dir())
    if name in LOCAL_TEXT_BUILDERS:
        text_key, label_key = TEXT_LABEL_KEYS[name]
        return LOCAL_TEXT_BUILDERS[name](data_dir=data_dir or default_data_dir()), (text_key,), label_key
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        raise DataError(
            f"unknown data set {name!r}: use rotten_tomatoes, glue/sst2, imdb_reviews, a GLUE sentence-pair "
            f"set ({', '.join(TEXT_PAIR_KEYS)}) or another TFDS text classification set"
        ) from None
    if is_pair_dataset(name):
        *text_keys, label_key = TEXT_PAIR_KEYS[name.split(":")[0]]
        return builder, tuple(text_keys), label_key
    text_key, label_key = _text_label_keys(name, builder.info)
    return builder, (text_key,), label_key


def _text_label_keys(name, info):
    features = info.features
    keys = TEXT_LABEL_KEYS.get(name.split(":")[0], info.supervised_keys)
    if (
        isinstance(keys, tuple)
        and len(keys) == 2
        and all(isinstance(key, str) and key in features for key in keys)
        and isinstance(features[keys[0]], tfds.features.Text)
        and isinstance(features[keys[1]], tfds.features.ClassLabel)
    ):
        return keys
    raise DataError(
        f"{name} is not a single-text classification set (supervised keys {info.supervised_keys}): "
        "use rotten_tomatoes, glue/sst2, imdb_reviews, a GLUE sentence-pair set or a set of "
        "(text, class label) pairs"
    )


def _unlabelled_splits(name):
    name = name.split(":")[0]
    return UNLABELLED_SPLITS.get(name, UNLABELLED_SPLITS.get(name.split("/")[0], ()))


def _check_labelled(name, split):
    for part in split.split("+"):
        if part.split("[")[0].strip() in _unlabelled_splits(name):
            raise DataError(
                f"{name}'s {part.strip()} split has no labels (all -1): evaluate on a labelled split, "
                "e.g. validation"
            )


@functools.lru_cache(maxsize=None)
def _count_labels(name, data_dir, table, splits, num_classes):
    counts = {}
    for split in splits:
        if split in _unlabelled_splits(name):
            continue
        labels = _labels_of(load_text_classification(name, split, data_dir=data_dir, table=table))
        if len(labels):
            counts[split] = np.bincount(labels, minlength=num_classes).tolist()
    return counts


def _labels_of(ds, drop_unlabelled=True):
    batches = ds.map(lambda texts, label: label).batch(_LABEL_BATCH)
    labels = [batch for batch in batches.as_numpy_iterator()]
    labels = np.concatenate(labels).astype(np.int64) if labels else np.zeros(0, np.int64)
    return labels[labels >= 0] if drop_unlabelled else labels
