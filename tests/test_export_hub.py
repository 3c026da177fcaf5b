"""Tests of the TF Hub export: Reusable SavedModels used from tf_keras (hub.KerasLayer),
hub.load and Keras 3 (load_hub_encoder), checked against the Keras encoder and preprocessor."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401  (registers the ops of the preprocessor SavedModel)

from kerapre.data.text_preprocessor import BertTextPreprocessor
from kerapre.data.vocab import SPECIAL_TOKENS, load_vocabulary, vocabulary_hash
from kerapre.errors import ExportError
from kerapre.export.hub import write_hub
from kerapre.export.hub_encoder import write_hub_encoder
from kerapre.export.hub_reload import load_hub_encoder
from kerapre.export.layout import read_metadata
from kerapre.models import BertEncoder
from kerapre.tasks import TextClassifier
from kerapre.tasks.bert_pretrainer import BertPretrainer

LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORDS = "the a film movie plot is was good great fun loved bad boring dull hated i it not".split()
VOCAB = list(SPECIAL_TOKENS) + list(dict.fromkeys([*WORDS, *LETTERS, *".,!?'", *("##" + c for c in LETTERS)]))
SEQ_LENGTH = 16
CLS, SEP = 2, 3
POSITIVE = ["the film was good", "great fun", "i loved it", "a great plot", "good movie", "loved the film!",
            "fun, good fun", "the plot is great"]
NEGATIVE = ["the film was bad", "boring", "i hated it", "a dull plot", "bad movie", "hated the film!",
            "dull, boring", "the plot is not good"]
TEXTS = POSITIVE + NEGATIVE
LABELS = np.array([1] * len(POSITIVE) + [0] * len(NEGATIVE))
# Accents, case, punctuation, unknown characters, an empty string and overlong text.
AWKWARD = ["Café au lait, NAÏVE résumé!", "THE Film... was GOOD?!", "", "don't € 中文 test",
           "the film was good " * 10, "Ünïcödé   spaces\tand\nnewlines"]


@pytest.fixture(scope="module")
def models():
    encoder = BertEncoder(len(VOCAB), num_layers=2, num_heads=2, hidden_dim=32, dropout=0.1, max_sequence_length=64)
    pretrainer = BertPretrainer(encoder)
    return encoder, pretrainer, BertTextPreprocessor(VOCAB, sequence_length=SEQ_LENGTH)


@pytest.fixture(scope="module")
def exported(models, tmp_path_factory):
    encoder, pretrainer, preprocessor = models
    version_dir = tmp_path_factory.mktemp("saved_models") / "bert-hub" / "1"
    version_dir.mkdir(parents=True)
    return write_hub(encoder, preprocessor, version_dir, mlm_head=pretrainer.mlm_head, metadata={"name": "bert"})


@pytest.fixture(scope="module")
def hub_encoder(exported):
    return hub.load(exported["encoder"])


@pytest.fixture(scope="module")
def hub_preprocessor(exported):
    return hub.load(exported["preprocessor"])


def _hub_inputs(inputs):
    return {"input_word_ids": inputs["token_ids"], "input_mask": inputs["padding_mask"],
            "input_type_ids": inputs["segment_ids"]}


def _numpy(outputs):
    return {key: value.numpy() for key, value in outputs.items()}


# === Encoder through hub.load ===


def test_layout_and_metadata(exported, models):
    encoder = models[0]
    assert exported == {"encoder": exported["encoder"], "preprocessor": exported["preprocessor"]}
    assert exported["encoder"].endswith("/1/encoder") and exported["preprocessor"].endswith("/1/preprocessor")
    for part, fmt in (("encoder", "hub_encoder"), ("preprocessor", "hub_preprocessor")):
        assert os.path.exists(os.path.join(exported[part], "saved_model.pb"))
        metadata = read_metadata(exported[part])
        assert metadata["format"] == fmt and metadata["name"] == "bert"
        assert metadata["vocabulary_size"] == len(VOCAB) and metadata["vocabulary_hash"] == vocabulary_hash(VOCAB)
        assert metadata["lowercase"] is True
    metadata = read_metadata(exported["encoder"])
    assert (metadata["hidden_dim"], metadata["num_layers"], metadata["mlm"]) == (32, encoder.num_layers, True)
    assert read_metadata(exported["preprocessor"])["sequence_length"] == SEQ_LENGTH


def test_hub_encoder_computes_the_keras_encoder_outputs(hub_encoder, models):
    encoder, _, preprocessor = models
    inputs = preprocessor(TEXTS[:4])
    expected = encoder(inputs)
    for outputs in (hub_encoder(_hub_inputs(inputs)), hub_encoder(_hub_inputs(inputs), training=False)):
        assert set(outputs) == {"pooled_output", "sequence_output", "encoder_outputs", "default"}
        np.testing.assert_allclose(outputs["pooled_output"], expected["pooled_output"], atol=1e-5)
        np.testing.assert_allclose(outputs["default"], expected["pooled_output"], atol=1e-5)
        np.testing.assert_allclose(outputs["sequence_output"], expected["sequence_output"], atol=1e-5)
        assert len(outputs["encoder_outputs"]) == 2
        for got, want in zip(outputs["encoder_outputs"], expected["encoder_outputs"]):
            assert got.dtype == tf.float32
            np.testing.assert_allclose(got, want, atol=1e-5)


def test_training_true_turns_dropout_on(hub_encoder, models):
    inputs = _hub_inputs(models[2](TEXTS[:4]))
    inference = hub_encoder(inputs)["sequence_output"].numpy()
    first = hub_encoder(inputs, training=True)["sequence_output"].numpy()
    second = hub_encoder(inputs, training=True)["sequence_output"].numpy()
    assert np.abs(first - inference).max() > 1e-2
    assert np.abs(first - second).max() > 1e-2  # a new dropout mask every call
    np.testing.assert_array_equal(hub_encoder(inputs)["sequence_output"].numpy(), inference)


def test_reusable_saved_model_attributes_and_assets(hub_encoder, hub_preprocessor, models):
    encoder = models[0]
    assert len(hub_encoder.variables) == len(encoder.variables)
    assert len(hub_encoder.trainable_variables) == len(encoder.trainable_variables) > 0
    assert list(hub_encoder.regularization_losses) == []
    for obj in (hub_encoder, hub_preprocessor):
        assert obj.do_lower_case.numpy() and not obj.do_lower_case.trainable
        vocab_file = obj.vocab_file.asset_path.numpy().decode()
        assert os.path.basename(vocab_file) == "vocab.txt" and load_vocabulary(vocab_file) == VOCAB


def test_mlm_logits_equal_the_pretrainer(hub_encoder, models):
    encoder, pretrainer, preprocessor = models
    inputs = preprocessor(TEXTS[:3])
    positions = tf.constant([[1, 2], [0, 3], [2, 2]], tf.int32)
    outputs = hub_encoder.mlm({**_hub_inputs(inputs), "masked_lm_positions": positions})
    assert set(outputs) == {"pooled_output", "sequence_output", "encoder_outputs", "default", "mlm_logits"}
    assert outputs["mlm_logits"].shape == (3, 2, len(VOCAB)) and outputs["mlm_logits"].dtype == tf.float32
    expected = pretrainer({**inputs, "mask_positions": positions})["mlm"]
    np.testing.assert_allclose(outputs["mlm_logits"], expected, atol=1e-5)
    np.testing.assert_allclose(outputs["pooled_output"], encoder(inputs)["pooled_output"], atol=4e-3)  # bf16 ulps
    # Core variables leave out the MLM head, as TF Hub's BERT encoders do.
    assert len(hub_encoder.mlm.variables) > len(hub_encoder.variables)


def test_saved_model_cli_lists_int32_inputs_of_any_batch_and_length(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", exported["encoder"], "--all"],
                           capture_output=True, text=True, check=True).stdout
    signature = shown.split("signature_def['serving_default']")[1].split("Method name")[0]
    for name in ("input_word_ids", "input_mask", "input_type_ids"):
        block = signature.split(f"inputs['{name}']")[1].split("name:")[0]
        assert "DT_INT32" in block and "shape: (-1, -1)" in block
    for name in ("pooled_output", "sequence_output", "default", "encoder_outputs_0", "encoder_outputs_1"):
        assert f"outputs['{name}']" in signature


def test_outputs_are_float32_under_mixed_bfloat16(tmp_path):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    encoder = BertEncoder(len(VOCAB), num_layers=1, num_heads=2, hidden_dim=32, max_sequence_length=32)
    keras.mixed_precision.set_dtype_policy("float32")
    write_hub_encoder(encoder, tmp_path, vocabulary=VOCAB)
    inputs = BertTextPreprocessor(VOCAB, sequence_length=8)(TEXTS[:2])
    outputs = hub.load(str(tmp_path))(_hub_inputs(inputs))
    assert encoder(inputs)["pooled_output"].dtype == "bfloat16"
    assert all(x.dtype == tf.float32 for x in tf.nest.flatten(outputs))
    np.testing.assert_allclose(outputs["pooled_output"], encoder(inputs)["pooled_output"], atol=4e-3)  # bf16 ulps


# === Preprocessor ===


def test_preprocessor_equals_bert_text_preprocessor(hub_preprocessor, models):
    preprocessor = models[2]  # keras-hub runs Python eagerly, TensorFlow in tf.data / tf.function
    got = hub_preprocessor(tf.constant(AWKWARD))
    for expected in (preprocessor(AWKWARD), tf.function(preprocessor)(tf.constant(AWKWARD))):
        for hub_key, key in (("input_word_ids", "token_ids"), ("input_mask", "padding_mask"),
                             ("input_type_ids", "segment_ids")):
            assert got[hub_key].dtype == tf.int32 and got[hub_key].shape == (len(AWKWARD), SEQ_LENGTH)
            np.testing.assert_array_equal(got[hub_key], expected[key])
    assert got["input_word_ids"].numpy()[2].tolist() == [CLS, SEP] + [0] * (SEQ_LENGTH - 2)
    assert got["input_word_ids"].numpy()[4, -1] == SEP  # overlong text cut


def test_tokenize_gives_words_and_wordpieces(hub_preprocessor, models):
    tokens = hub_preprocessor.tokenize(tf.constant(AWKWARD))
    assert isinstance(tokens, tf.RaggedTensor) and tokens.ragged_rank == 2 and tokens.dtype == tf.int32
    assert tokens.shape.rank == 3 and tokens.shape[0] == len(AWKWARD)
    assert tokens[1].to_list()[:3] == [[VOCAB.index("the")], [VOCAB.index("film")], [VOCAB.index(".")]]
    assert tokens[2].to_list() == []
    tokenizer = models[2].tokenizer  # keras-hub runs Python eagerly, TensorFlow in tf.data / tf.function
    eager = [[int(i) for i in row] for row in tokenizer(AWKWARD)]
    traced = tf.function(tokenizer)(tf.constant(AWKWARD)).to_list()
    assert tokens.merge_dims(1, 2).to_list() == eager == traced
    special = {key: int(value) for key, value in hub_preprocessor.tokenize.get_special_tokens_dict().items()}
    assert special == {"vocab_size": len(VOCAB), "start_of_sequence_id": CLS, "end_of_segment_id": SEP,
                       "padding_id": 0, "mask_id": 4}


@pytest.mark.parametrize("seq_length", [None, 10])
def test_bert_pack_inputs_packs_pairs_like_the_preprocessor(hub_preprocessor, seq_length):
    first, second = AWKWARD, list(reversed(AWKWARD))
    segments = [hub_preprocessor.tokenize(tf.constant(first)), hub_preprocessor.tokenize(tf.constant(second))]
    kwargs = {} if seq_length is None else {"seq_length": seq_length}
    length = seq_length or SEQ_LENGTH
    reference = BertTextPreprocessor(VOCAB, sequence_length=length)
    for packed, expected in (
        (hub_preprocessor.bert_pack_inputs(segments, **kwargs), reference((tf.constant(first), tf.constant(second)))),
        (hub_preprocessor.bert_pack_inputs(segments[:1], **kwargs), reference(first)),
    ):
        assert packed["input_word_ids"].shape == (len(first), length)
        np.testing.assert_array_equal(packed["input_word_ids"], expected["token_ids"])
        np.testing.assert_array_equal(packed["input_type_ids"], expected["segment_ids"])
        np.testing.assert_array_equal(packed["input_mask"], expected["padding_mask"])
    pair = hub_preprocessor.bert_pack_inputs(segments, **kwargs)
    assert pair["input_type_ids"].numpy()[0].max() == 1  # B is segment 1
    assert pair["input_word_ids"].numpy()[2, :2].tolist() == [CLS, SEP]  # empty A, then B
    assert pair["input_type_ids"].numpy()[2, :3].tolist() == [0, 0, 1]


def test_bert_pack_inputs_takes_ragged_rank_1_segments(hub_preprocessor):
    segment = tf.ragged.constant([[5, 6], []], dtype=tf.int32)
    packed = hub_preprocessor.bert_pack_inputs([segment, segment], seq_length=tf.constant(6))
    assert packed["input_word_ids"].numpy().tolist() == [[CLS, 5, 6, SEP, 5, SEP], [CLS, SEP, SEP, 0, 0, 0]]


# === tf_keras and Keras 3 ===


def test_tf_keras_fine_tunes_through_hub_keras_layers(exported):
    import tf_keras

    # Seeded: an untrained encoder gives every sentence nearly the same pooled vector, so an
    # unseeded head and dropout could leave 12 steps too little to show the loss falling.
    tf_keras.utils.set_random_seed(0)
    text = tf_keras.Input(shape=(), dtype=tf.string)
    encoder = hub.KerasLayer(exported["encoder"], trainable=True)
    outputs = encoder(hub.KerasLayer(exported["preprocessor"])(text))
    model = tf_keras.Model(text, tf_keras.layers.Dense(2)(outputs["pooled_output"]))
    model.compile(tf_keras.optimizers.Adam(3e-3),
                  tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert len(encoder.trainable_weights) == len(hub.load(exported["encoder"]).trainable_variables)
    x = tf.constant(TEXTS)
    before = [w.numpy().copy() for w in encoder.trainable_weights]
    loss_before = model.evaluate(x, LABELS, verbose=0)
    model.fit(x, LABELS, epochs=10, batch_size=8, verbose=0)
    assert model.evaluate(x, LABELS, verbose=0) < loss_before
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, encoder.trainable_weights))


def _finetune(encoder, epochs):
    model = TextClassifier(encoder, num_classes=2)
    model.compile(keras.optimizers.AdamW(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = BertTextPreprocessor(encoder.vocabulary, sequence_length=SEQ_LENGTH, lowercase=encoder.lowercase)(TEXTS)
    history = model.fit(x, LABELS, epochs=epochs, batch_size=8, verbose=0)
    return model, history.history["loss"]


def test_frozen_reloaded_encoder_stays_bit_for_bit_unchanged(exported):
    encoder = load_hub_encoder(exported["encoder"], trainable=False)
    before = [w.numpy().copy() for w in encoder.weights]
    model, _ = _finetune(encoder, epochs=1)
    assert encoder.trainable_weights == [] and len(model.trainable_weights) == 2
    parameters = [(b, w) for b, w in zip(before, encoder.weights) if "float" in str(w.dtype)]
    assert len(parameters) > 10 and all(np.array_equal(b, w.numpy()) for b, w in parameters)
    # Only the dropout seed counters moved: fit's training=True reached the export's dropout.
    seeds = [(b, w) for b, w in zip(before, encoder.weights) if "float" not in str(w.dtype)]
    assert seeds and any(not np.array_equal(b, w.numpy()) for b, w in seeds)


def test_trainable_reloaded_encoder_is_updated_with_adamw(exported):
    encoder = load_hub_encoder(os.path.dirname(os.path.dirname(exported["encoder"])), trainable=True)
    before = [w.numpy().copy() for w in encoder.trainable_weights]
    _, losses = _finetune(encoder, epochs=4)
    assert len(before) > 10
    assert not any(np.array_equal(b, w.numpy()) for b, w in zip(before, encoder.trainable_weights))
    assert losses[-1] < losses[0]


def test_reloaded_encoder_matches_the_original_and_training_reaches_dropout(exported, models):
    encoder, _, preprocessor = models
    reloaded = load_hub_encoder(os.path.dirname(exported["encoder"]))
    assert reloaded.vocabulary == VOCAB and reloaded.lowercase is True
    assert set(reloaded.input) == {"token_ids", "segment_ids", "padding_mask"}
    inputs = preprocessor(TEXTS[:4])
    outputs = reloaded(inputs)
    assert set(outputs) == {"sequence_output", "pooled_output"}
    expected = encoder(inputs)
    for key in outputs:
        np.testing.assert_allclose(outputs[key], expected[key], atol=1e-5)
    dropped = reloaded(inputs, training=True)["sequence_output"].numpy()
    assert np.abs(dropped - outputs["sequence_output"].numpy()).max() > 1e-2
    logits = TextClassifier(reloaded, num_classes=2)(inputs)
    assert logits.shape == (4, 2)


def test_bad_paths_raise_clear_errors(tmp_path, exported):
    with pytest.raises(ExportError, match="does not exist"):
        load_hub_encoder(tmp_path / "missing")
    with pytest.raises(ExportError, match="holds no model kerapre can read"):
        load_hub_encoder(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ExportError, match="is a SavedModel not written by kerapre .*, not a TF Hub export"):
        load_hub_encoder(other)
    # The preprocessor's directory names the same export: its encoder is loaded.
    assert load_hub_encoder(exported["preprocessor"]).vocabulary == load_hub_encoder(exported["encoder"]).vocabulary


def test_vocabulary_size_mismatch_is_refused(models, tmp_path):
    encoder = models[0]
    preprocessor = BertTextPreprocessor(VOCAB[:-1], sequence_length=8)
    with pytest.raises(ExportError, match=r"has \d+ tokens but the encoder \d+: pass the BertTextPreprocessor"):
        write_hub(encoder, preprocessor, tmp_path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ExportError, match="pass the vocabulary the encoder was pretrained with"):
        write_hub_encoder(encoder, tmp_path, vocabulary=VOCAB[:-1])
