"""Published BERT checkpoints load to the model they describe: kerapre's encoders against an
independent NumPy BERT, on MiniLM and on tiny random checkpoints in every layout."""

import dataclasses
import json
import os

import keras
import numpy as np
import pytest

import kerapre
from kerapre.data import BertTextPreprocessor
from kerapre.errors import DataError
from kerapre.export.bert_checkpoint import encoder_from_checkpoint, pretrainer_from_checkpoint
from kerapre.export.google_bert import read_google_bert
from kerapre.export.hf_bert import read_hf_bert
from kerapre.export.published import published_directory
from kerapre.export.resolve import resolve
import bert_reference as ref

TOLERANCE = 1e-4
TEXTS = ["A gripping, beautifully acted story.", "Dull, overlong and predictable.", "Is it good? It is."]


@pytest.fixture(autouse=True)
def float32():
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("float32")
    yield
    keras.mixed_precision.set_dtype_policy(previous)


def _inputs(seed=0, batch=3, seq=10, vocab=40):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(batch, seq)).astype("int32")
    mask = np.ones((batch, seq), "int32")
    mask[1, 6:] = 0  # a padded row
    ids[mask == 0] = 0
    segments = np.zeros((batch, seq), "int32")
    segments[:, seq // 2:] = 1
    return {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}


def _assert_matches(encoder, w, config, inputs, **reference_args):
    outputs = encoder(inputs, training=False)
    sequence, pooled = ref.forward(w, config, inputs["token_ids"], inputs["segment_ids"], inputs["padding_mask"],
                                   **reference_args)
    real = inputs["padding_mask"].astype(bool)  # padded positions are nobody's output
    np.testing.assert_allclose(np.asarray(outputs["sequence_output"])[real], sequence[real], atol=TOLERANCE)
    if pooled is not None:
        np.testing.assert_allclose(np.asarray(outputs["pooled_output"]), pooled, atol=TOLERANCE)
    return outputs


@pytest.fixture(scope="module")
def minilm():
    from safetensors.numpy import load_file

    directory = published_directory("minilm_l6")
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    return directory, load_file(os.path.join(directory, "model.safetensors")), config


def test_minilm_loads_by_name_and_equals_the_numpy_bert_on_its_own_arrays(minilm):
    directory, w, config = minilm
    artifact = resolve("minilm_l6")
    assert (artifact.kind, artifact.path, artifact.lowercase) == ("hf_bert", directory, True)
    encoder, vocabulary = kerapre.load_encoder("minilm_l6", trainable=False)
    assert (encoder.num_layers, encoder.hidden_dim, encoder.num_heads, encoder.vocabulary_size) == (6, 384, 12, 30522)
    assert encoder.activation == "gelu" and len(vocabulary) == 30522 and not encoder.trainable_weights
    inputs = {k: np.asarray(v) for k, v in BertTextPreprocessor(vocabulary, sequence_length=16)(TEXTS).items()}
    _assert_matches(encoder, w, config, inputs)
    # The check can fail: the tanh GELU is off by more than the tolerance on MiniLM's own weights.
    with pytest.raises(AssertionError):
        _assert_matches(encoder, w, config, inputs, approximate_gelu=True)


@pytest.mark.parametrize("prefixed, act, eps", [(False, "gelu", 1e-12), (True, "gelu_new", 1e-6)])
def test_tiny_hugging_face_checkpoints_of_both_name_styles_equal_the_numpy_bert(tmp_path, prefixed, act, eps):
    w, config = ref.random_checkpoint(seed=int(prefixed))
    config = {**config, "hidden_act": act, "layer_norm_eps": eps}
    directory = ref.write_hf(tmp_path / "hf", w, config, prefixed=prefixed)
    assert resolve(directory).kind == "hf_bert"
    checkpoint = read_hf_bert(directory)
    assert checkpoint.has_mlm_head == checkpoint.has_nsp_head == prefixed
    encoder, vocabulary = kerapre.load_encoder(str(directory))
    assert encoder.layer_norm_epsilon == eps and len(vocabulary) == config["vocab_size"]
    _assert_matches(encoder, w, config, _inputs())
    if prefixed:  # BertForPreTraining: its heads come along into the pretrainer
        pretrainer = pretrainer_from_checkpoint(checkpoint)
        inputs = _inputs()
        positions = np.tile(np.arange(4, dtype="int32"), (3, 1))
        outputs = pretrainer({**inputs, "mask_positions": positions}, training=False)
        sequence, pooled = ref.forward(w, config, inputs["token_ids"], inputs["segment_ids"], inputs["padding_mask"])
        np.testing.assert_allclose(outputs["mlm"], ref.mlm_logits(w, config, sequence)[:, :4], atol=TOLERANCE)
        np.testing.assert_allclose(outputs["nsp"], ref.nsp_logits(w, pooled), atol=TOLERANCE)


def test_a_google_checkpoint_equals_the_numpy_bert_with_its_tanh_gelu_and_heads(tmp_path):
    w, config = ref.random_checkpoint(seed=2)
    directory = ref.write_google(tmp_path / "uncased_L-2_H-16_A-2", w, config)
    artifact = resolve(directory)
    assert (artifact.kind, artifact.lowercase) == ("google_bert", True)
    encoder, _ = kerapre.load_encoder(str(directory))
    assert encoder.activation == "gelu_approximate"  # Google's "gelu" is the tanh form
    _assert_matches(encoder, w, config, _inputs(), approximate_gelu=True)
    with pytest.raises(AssertionError):  # ... and the exact form would be caught
        _assert_matches(encoder, w, config, _inputs(), approximate_gelu=False)
    pretrainer = pretrainer_from_checkpoint(read_google_bert(directory))
    inputs = _inputs()
    outputs = pretrainer({**inputs, "mask_positions": np.zeros((3, 2), "int32")}, training=False)
    sequence, pooled = ref.forward(w, config, inputs["token_ids"], inputs["segment_ids"], inputs["padding_mask"],
                                   approximate_gelu=True)
    np.testing.assert_allclose(outputs["nsp"], ref.nsp_logits(w, pooled), atol=TOLERANCE)
    mlm = ref.mlm_logits({**w}, {**config, "hidden_act": "gelu_new"}, sequence)[:, :1]
    np.testing.assert_allclose(outputs["mlm"][:, :1], mlm, atol=TOLERANCE)


def test_minilm_written_in_googles_layout_reads_to_the_same_arrays_and_outputs(minilm, tmp_path):
    directory, w, config = minilm
    google = ref.write_google(tmp_path / "minilm_uncased", {k: v for k, v in w.items() if k != "embeddings.position_ids"},
                              config)
    from_google, from_hf = read_google_bert(google), read_hf_bert(directory)
    assert sorted(from_google.weights) == sorted(from_hf.weights)
    for name, array in from_hf.weights.items():
        np.testing.assert_array_equal(from_google.weights[name], array, err_msg=name)
    # Same arrays, same activation: the same encoder outputs.
    encoder = encoder_from_checkpoint(dataclasses.replace(from_google, activation=from_hf.activation))
    inputs = {k: np.asarray(v) for k, v in BertTextPreprocessor(from_hf.vocabulary, sequence_length=16)(TEXTS).items()}
    expected = encoder_from_checkpoint(from_hf)(inputs, training=False)
    got = encoder(inputs, training=False)
    np.testing.assert_allclose(got["pooled_output"], expected["pooled_output"], atol=1e-6)


def test_minilm_ranks_paraphrases_above_unrelated_pairs_where_a_random_encoder_does_not(minilm):
    from kerapre.report.features import extract_text_features

    pairs = [("A man is playing a guitar.", "A person plays the guitar."),
             ("The cat sits on the mat.", "A cat is sitting on a rug."),
             ("How old are you?", "What is your age?"),
             ("The stock market fell sharply today.", "Shares dropped steeply today."),
             ("She is cooking dinner in the kitchen.", "A woman prepares a meal in the kitchen.")]
    encoder, vocabulary = kerapre.load_encoder("minilm_l6", trainable=False)
    random_encoder = kerapre.models.BertEncoder(vocabulary_size=30522, num_layers=6, num_heads=12, hidden_dim=384,
                                                intermediate_dim=1536, activation="gelu")

    def margin(model):
        first = extract_text_features(model, [a for a, _ in pairs], vocab=vocabulary, output="mean")
        second = extract_text_features(model, [b for _, b in pairs], vocab=vocabulary, output="mean")
        first /= np.linalg.norm(first, axis=1, keepdims=True)
        second /= np.linalg.norm(second, axis=1, keepdims=True)
        similarity = first @ second.T
        paraphrase = np.diag(similarity).mean()
        unrelated = similarity[~np.eye(len(pairs), dtype=bool)].mean()
        return paraphrase - unrelated

    trained, untrained = margin(encoder), margin(random_encoder)
    print(f"paraphrase margin: MiniLM {trained:.3f}, random {untrained:.3f}")
    assert trained > 0.4 and trained > untrained + 0.3, (trained, untrained)


def test_published_sources_refuse_what_they_cannot_read_with_the_fix(tmp_path):
    w, config = ref.random_checkpoint()
    torch_only = tmp_path / "torch"
    ref.write_hf(torch_only, w, config, prefixed=False)
    os.rename(torch_only / "model.safetensors", torch_only / "pytorch_model.bin")
    with pytest.raises(DataError, match="pytorch_model.bin.*save_pretrained.*safe_serialization=True"):
        kerapre.load_encoder(str(torch_only))
    other = ref.write_hf(tmp_path / "gpt", w, {**config, "model_type": "gpt2"}, prefixed=False)
    with pytest.raises(DataError, match="holds a 'gpt2' model, not BERT"):
        kerapre.load_encoder(str(other))
    wrong = ref.write_hf(tmp_path / "wrong", w, {**config, "hidden_size": 32}, prefixed=False)
    with pytest.raises(DataError, match="does not fit"):
        kerapre.load_encoder(str(wrong))
    with pytest.raises(DataError, match="keras-hub could not load the preset bert_tiny_en_uncased.*no network.*minilm_l6"):
        kerapre.load_encoder("bert_tiny_en_uncased")


def test_an_activation_kerapre_does_not_compute_is_refused_by_either_reader(tmp_path):
    from kerapre.errors import DataError
    from kerapre.export.google_bert import read_google_bert
    from kerapre.export.hf_bert import read_hf_bert

    w, config = ref.random_checkpoint(vocab_size=40, seed=9)
    for read, directory in ((read_hf_bert, ref.write_hf(tmp_path / "hf", w, {**config, "hidden_act": "swish"},
                                                          prefixed=False)),
                            (read_google_bert, ref.write_google(tmp_path / "google", w, config, hidden_act="swish"))):
        with pytest.raises(DataError, match=r"hidden_act 'swish' is not supported: kerapre's encoder computes gelu"):
            read(directory)
