"""SavedModels in the TF Hub BERT API (Google's ``bert_en_uncased_L-*``, Model Garden exports):
written by the tests as Model Garden writes them (a tf_keras model with ``__call__(inputs,
training)``, ``vocab_file`` and ``do_lower_case``), over arrays the NumPy reference reads too."""

import os

import numpy as np
import pytest
import tensorflow as tf

import kerapre
from kerapre.config import BertPretrainConfig, load_config
from kerapre.data import BertTextPreprocessor
from kerapre.errors import DataError, ExportError
from kerapre.export import exportable_formats
from kerapre.export.encoders import build_pretrainer, load_encoder
from kerapre.export.resolve import resolve
from kerapre.tasks import TextClassifier
import bert_reference as ref


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    w, config = ref.random_checkpoint(vocab_size=60, positions=32, seed=7, scale=0.3)
    # Named uncased but written cased: the casing must come from do_lower_case, not the name.
    directory = tmp_path_factory.mktemp("tf_hub") / "bert_en_uncased_L-2_H-16_A-2"
    return w, config, str(ref.write_tf_hub(directory, w, config, lowercase=False, dropout=0.3))


def _inputs():
    ids = np.array([[2, 7, 9, 11, 3, 0, 0], [2, 30, 3, 41, 42, 3, 0]], "int32")
    segments = np.array([[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 0]], "int32")
    return ids, segments, (ids > 0).astype("int32")


def test_a_tf_hub_bert_loads_to_the_numpy_reference_with_its_vocabulary_and_casing(checkpoint):
    w, config, directory = checkpoint
    artifact = resolve(directory)
    assert artifact.kind == "tf_hub_bert" and artifact.lowercase is False
    encoder, vocabulary = load_encoder(directory, trainable=False)
    assert vocabulary == ref.vocabulary(60) and encoder.lowercase is False and encoder.hidden_dim == 16
    ids, segments, mask = _inputs()
    outputs = encoder({"token_ids": ids, "segment_ids": segments, "padding_mask": mask}, training=False)
    sequence, pooled = ref.forward(w, config, ids, segments, mask)
    np.testing.assert_allclose(outputs["pooled_output"], pooled, atol=1e-4)
    real = mask.astype(bool)  # padded positions are not compared: BERT leaves them unconstrained
    np.testing.assert_allclose(np.asarray(outputs["sequence_output"])[real], sequence[real], atol=1e-4)


def test_training_reaches_its_dropout_which_its_serving_signature_cannot(checkpoint):
    _, _, directory = checkpoint
    encoder, _ = load_encoder(directory, trainable=True)
    ids, segments, mask = _inputs()
    inputs = {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}
    quiet = encoder(inputs, training=False)["pooled_output"]
    noisy = [encoder(inputs, training=True)["pooled_output"] for _ in range(2)]
    assert np.abs(noisy[0] - quiet).max() > 1e-3 and np.abs(noisy[0] - noisy[1]).max() > 1e-3
    # Its one signature takes no `training`: a layer calling it would fine-tune without dropout.
    signature = tf.saved_model.load(directory).signatures["serving_default"]
    assert set(signature.structured_input_signature[1]) == {"input_word_ids", "input_mask", "input_type_ids"}


def test_a_tf_hub_handle_is_downloaded_by_tensorflow_hub_and_offline_says_what_to_pass():
    handle = "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4"
    artifact = resolve(handle)
    assert artifact.kind == "tf_hub_bert" and artifact.lowercase is True
    with pytest.raises(DataError, match=r"could not download .*with no network, pass .*TF Hub BERT SavedModel"):
        load_encoder(handle)


def test_continued_pretraining_from_a_saved_model_is_refused_with_the_checkpoints_to_pass(checkpoint, tmp_path):
    _, _, directory = checkpoint
    config = load_config(BertPretrainConfig, overrides=[f"model.init={directory}"])
    with pytest.raises(DataError, match=r"is a TF Hub BERT SavedModel .*, not a BERT encoder to continue from: pass"):
        build_pretrainer(config, 60, log=lambda *_: None)


def test_an_albert_style_saved_model_without_a_vocabulary_is_refused(tmp_path):
    module = tf.Module()
    module.do_lower_case = tf.Variable(True, trainable=False)
    module.__call__ = tf.function(lambda inputs, training=False: {"pooled_output": tf.zeros([1, 4])})
    module.__call__.get_concrete_function({"input_word_ids": tf.TensorSpec([None, None], tf.int32)})
    tf.saved_model.save(module, str(tmp_path / "albert"))
    with pytest.raises(DataError, match="has no vocab_file asset"):
        load_encoder(str(tmp_path / "albert"))


def test_a_classifier_on_it_exports_as_serving_and_refuses_keras_and_hub_writing_nothing(checkpoint, tmp_path):
    _, _, directory = checkpoint
    encoder, vocabulary = load_encoder(directory, trainable=False)
    model = TextClassifier(encoder, 2, preprocessor=BertTextPreprocessor(vocabulary, sequence_length=16,
                                                                         lowercase=False))
    assert exportable_formats(model) == ("serving",)
    with pytest.raises(ExportError, match=r"has no keras/hub export .*: export --format serving, or fine-tune"):
        kerapre.export(model, "tf_hub", base_dir=str(tmp_path), formats=("keras", "hub"))
    assert os.listdir(tmp_path) == []
