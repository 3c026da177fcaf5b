"""Tests of TextClassifier: outputs, config and .keras round trips, frozen vs trainable fits."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerapre.config import TextTrainConfig
from kerapre.data import BertTextPreprocessor
from kerapre.models import BertEncoder
from kerapre.tasks import TextClassifier
from kerapre.training import WarmupLinearDecay, make_optimizer

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"the a film was good bad great awful plot".split()]
GOOD = ["the film was good", "a great film", "good plot", "great great film"]
BAD = ["the film was bad", "an awful film", "bad plot", "awful awful plot"]


def _encoder(**overrides):
    return BertEncoder(**{"vocabulary_size": len(VOCAB), "num_layers": 1, "num_heads": 2, "hidden_dim": 16,
                          "intermediate_dim": 32, "max_sequence_length": 16, **overrides})


@pytest.fixture
def preprocessor():
    return BertTextPreprocessor(VOCAB, sequence_length=8)


@pytest.fixture
def data(preprocessor):
    labels = [1] * len(GOOD) + [0] * len(BAD)
    return tf.data.Dataset.from_tensor_slices((GOOD + BAD, labels)).batch(8).map(preprocessor).cache()


def _compile(model, learning_rate=1e-2):
    schedule = WarmupLinearDecay(learning_rate, total_steps=20, warmup_steps=2)
    model.compile(
        optimizer=make_optimizer(TextTrainConfig(), schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def test_logits_for_single_texts_and_pairs(preprocessor):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    model = TextClassifier(_encoder(), num_classes=3)
    assert model.get_layer("logits").units == 3 and model.get_layer("output_dropout").rate == 0.1
    assert model.get_layer(model.backbone.name) is model.backbone
    logits = model(preprocessor(GOOD))
    assert logits.shape == (4, 3) and logits.dtype == "float32"
    pair_logits = model(preprocessor((GOOD, BAD)))
    assert pair_logits.shape == (4, 3)
    assert not np.allclose(pair_logits, logits)


def test_config_and_keras_file_round_trip(preprocessor, tmp_path):
    model = TextClassifier(_encoder(dropout=0.0), num_classes=2, dropout=0.2, name="sentiment")
    model.backbone.trainable = False
    restored = TextClassifier.from_config(model.get_config())
    assert restored.get_config() == model.get_config()
    assert restored.name == "sentiment" and restored.dropout == 0.2 and not restored.backbone.trainable
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode stays on
    assert isinstance(loaded, TextClassifier) and isinstance(loaded.backbone, BertEncoder)
    assert not loaded.backbone.trainable
    inputs = preprocessor(GOOD + BAD)
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


@pytest.mark.parametrize("trainable", [False, True])
def test_frozen_encoder_is_untouched_and_trainable_one_learns(data, trainable):
    keras.utils.set_random_seed(0)
    model = TextClassifier(_encoder(), num_classes=2)
    model.backbone.trainable = trainable
    _compile(model)
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    encoder_before = [w.copy() for w in model.backbone.get_weights()]
    head_before = model.get_layer("logits").get_weights()
    model.fit(data, epochs=6, verbose=0, shuffle=False)
    encoder_after = model.backbone.get_weights()
    assert model.optimizer.iterations.numpy() == 6
    assert not np.array_equal(model.get_layer("logits").get_weights()[0], head_before[0])
    unchanged = [np.array_equal(a, b) for a, b in zip(encoder_before, encoder_after)]
    if trainable:
        assert not any(unchanged)
    else:
        assert all(unchanged)
        assert len(model.trainable_weights) == 2  # the logits kernel and bias


def test_a_keras_file_with_its_preprocessor_answers_raw_strings_in_safe_mode(preprocessor, tmp_path):
    model = TextClassifier(_encoder(dropout=0.0), num_classes=2, dropout=0.0, preprocessor=preprocessor)
    expected = model.predict(preprocessor(GOOD + BAD), verbose=0)  # token ids, as training feeds it
    assert np.allclose(model.predict(GOOD + BAD, verbose=0), expected, atol=1e-6)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")  # safe_mode on
    assert loaded.preprocessor.vocabulary == VOCAB and loaded.preprocessor.sequence_length == 8
    np.testing.assert_allclose(loaded.predict(GOOD + BAD, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(loaded.predict(np.array(GOOD), verbose=0), expected[:4], atol=1e-5)
    single = loaded.predict("the film was good", verbose=0)
    np.testing.assert_allclose(single, expected[:1], atol=1e-5)
    pairs = loaded.predict((GOOD, BAD), verbose=0)
    np.testing.assert_allclose(pairs, model.predict(preprocessor((GOOD, BAD)), verbose=0), atol=1e-5)


def test_raw_text_fits_and_evaluates_and_token_ids_still_pass_through(preprocessor, data):
    model = _compile(TextClassifier(_encoder(), num_classes=2, preprocessor=preprocessor))
    labels = np.array([1] * len(GOOD) + [0] * len(BAD))
    history = model.fit(GOOD + BAD, labels, epochs=20, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss_text = model.evaluate(GOOD + BAD, labels, verbose=0, return_dict=True)["loss"]
    loss_ids = model.evaluate(data, verbose=0, return_dict=True)["loss"]
    assert loss_text == pytest.approx(loss_ids, rel=1e-5)
    raw = tf.data.Dataset.from_tensor_slices((GOOD + BAD, labels)).batch(8)
    assert model.evaluate(raw, verbose=0, return_dict=True)["loss"] == pytest.approx(loss_ids, rel=1e-5)


def test_without_a_preprocessor_the_model_takes_token_ids_only(preprocessor):
    model = TextClassifier(_encoder(), num_classes=2)
    assert model.get_config()["preprocessor"] is None
    assert model.predict(preprocessor(GOOD), verbose=0).shape == (4, 2)
    with pytest.raises(Exception):
        model.predict(GOOD, verbose=0)


def test_mean_pooling_freezes_the_unused_pooler_so_no_gradient_warning_and_keras_files_keep_compile(tmp_path):
    import warnings

    encoder = BertEncoder(vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
                                         intermediate_dim=16, max_sequence_length=16)
    model = TextClassifier(encoder, 2, pooling="mean")
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert not encoder.get_layer("pooled_dense").trainable and encoder.get_layer("token_embedding").trainable
    x = {"token_ids": np.ones((4, 6), "int32"), "segment_ids": np.zeros((4, 6), "int32"),
         "padding_mask": np.ones((4, 6), "int32")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
        model.save(tmp_path / "mean.keras")
        reloaded = keras.saving.load_model(tmp_path / "mean.keras")
    assert not [w for w in caught if "Gradients do not exist" in str(w.message) or "compile()" in str(w.message)]
    assert reloaded.compiled and reloaded.pooling == "mean"
