"""Tests of BertTextPreprocessor: layout, truncation, pairs, tf.data, tf.function, config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerapre.data import BertTextPreprocessor
from kerapre.data.vocab import write_vocabulary
from kerapre.errors import DataError

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "was", "good", "bad", "a", "##s", ".", "!"]
PAD, UNK, CLS, SEP = 0, 1, 2, 3
THE, FILM, WAS, GOOD, BAD, A, S, DOT = 5, 6, 7, 8, 9, 10, 11, 12


@pytest.fixture
def preprocessor():
    return BertTextPreprocessor(VOCAB, sequence_length=8)


def _ids(inputs):
    return inputs["token_ids"].numpy().tolist()


def test_batch_gives_int32_encoder_inputs_in_bert_layout(preprocessor):
    inputs = preprocessor(["The film was GOOD.", "Films?"])
    assert set(inputs) == {"token_ids", "segment_ids", "padding_mask"}
    for value in inputs.values():
        assert value.dtype == tf.int32 and value.shape == (2, 8)
    assert _ids(inputs) == [[CLS, THE, FILM, WAS, GOOD, DOT, SEP, PAD], [CLS, FILM, S, UNK, SEP, PAD, PAD, PAD]]
    assert inputs["padding_mask"].numpy().tolist() == [[1] * 7 + [0], [1] * 5 + [0] * 3]
    assert not inputs["segment_ids"].numpy().any()
    one = preprocessor("the film")
    assert one["token_ids"].shape == (8,) and _ids(one) == [CLS, THE, FILM, SEP, PAD, PAD, PAD, PAD]


def test_overlong_text_is_cut_and_empty_text_is_cls_sep(preprocessor):
    inputs = preprocessor(["bad " * 50, ""])
    assert _ids(inputs) == [[CLS] + [BAD] * 6 + [SEP], [CLS, SEP] + [PAD] * 6]
    assert inputs["padding_mask"].numpy().tolist() == [[1] * 8, [1, 1] + [0] * 6]


def test_pairs_are_packed_with_segment_ids_and_cut_round_robin(preprocessor):
    inputs = preprocessor((["the film", "bad bad bad bad bad"], ["good", "a a a a a"]))
    assert _ids(inputs) == [[CLS, THE, FILM, SEP, GOOD, SEP, PAD, PAD], [CLS, BAD, BAD, BAD, SEP, A, A, SEP]]
    assert inputs["segment_ids"].numpy().tolist() == [[0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1]]
    assert inputs["padding_mask"].numpy().tolist() == [[1] * 6 + [0] * 2, [1] * 8]
    inputs, labels = preprocessor((["the film"], ["good"]), [1])
    assert _ids(inputs) == [[CLS, THE, FILM, SEP, GOOD, SEP, PAD, PAD]] and labels == [1]
    with pytest.raises(DataError, match="one text or a pair"):
        preprocessor((["a"], ["a"], ["a"]))


def test_runs_in_tf_data_with_labels_passed_through(preprocessor):
    texts, labels = ["the film", "bad", "a film was good"], [0, 1, 1]
    eager = preprocessor(texts)
    batched = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(3).map(preprocessor)
    inputs, y = next(iter(batched))
    assert y.numpy().tolist() == labels
    for key in eager:
        np.testing.assert_array_equal(inputs[key], eager[key])
    single = tf.data.Dataset.from_tensor_slices(texts).map(preprocessor)
    assert [x["token_ids"].numpy().tolist() for x in single] == _ids(eager)
    pairs = tf.data.Dataset.from_tensor_slices(((texts, texts), labels)).batch(3).map(preprocessor)
    inputs, _ = next(iter(pairs))
    assert inputs["segment_ids"].numpy()[0].tolist() == [0, 0, 0, 0, 1, 1, 1, 0]
    unlabelled = tf.data.Dataset.from_tensor_slices((texts, texts)).map(lambda a, b: preprocessor((a, b)))
    assert next(iter(unlabelled))["token_ids"].numpy().tolist() == [CLS, THE, FILM, SEP, THE, FILM, SEP, PAD]


def test_runs_in_a_tf_function(preprocessor):
    serve = tf.function(preprocessor, input_signature=[tf.TensorSpec([None], tf.string)])
    inputs = serve(tf.constant(["the film was bad !"]))
    assert _ids(inputs) == [[CLS, THE, FILM, WAS, BAD, 13, SEP, PAD]]


def test_config_holds_the_vocabulary_and_round_trips(preprocessor, tmp_path):
    config = preprocessor.get_config()
    assert config["vocabulary"] == VOCAB and config["sequence_length"] == 8 and config["lowercase"] is True
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(preprocessor))
    assert isinstance(restored, BertTextPreprocessor) and restored.vocabulary_size == len(VOCAB)
    assert _ids(restored(["The film!"])) == _ids(preprocessor(["The film!"]))
    path = str(tmp_path / "vocab.txt")
    write_vocabulary(VOCAB, path)
    assert BertTextPreprocessor(path, sequence_length=8).vocabulary == VOCAB
    cased = BertTextPreprocessor(VOCAB, sequence_length=8, lowercase=False)
    assert _ids(cased(["The film"]))[0][:4] == [CLS, UNK, FILM, SEP]


def test_a_vocabulary_without_special_tokens_is_refused():
    with pytest.raises(DataError, match="lacks the special tokens"):
        BertTextPreprocessor(["the", "film"])
