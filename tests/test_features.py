"""Features from a frozen backbone as NumPy arrays (``kerapre.extract_features`` and
``kerapre.extract_text_features``)."""

import numpy as np
import pytest

import kerapre
from kerapre.errors import DataError
from helpers import fake_bert_run, tiny_images


def test_extract_features_equals_the_backbone_flattened_and_loads_paths(cnn_file):
    images, _ = tiny_images(10)
    backbone = kerapre.load_backbone(cnn_file)
    features = kerapre.extract_features(backbone, images, batch_size=4)
    assert features.shape == (10, 1600) and features.dtype == np.float32
    np.testing.assert_allclose(features, np.asarray(backbone(images.astype("float32"))), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(kerapre.extract_features(cnn_file, images), features, rtol=1e-5, atol=1e-5)


def test_extract_features_refuses_images_of_another_shape(cnn_file):
    images, _ = tiny_images(2, shape=(32, 32, 3))
    with pytest.raises(DataError, match=r"do not fit the backbone's input \(28, 28, 1\)"):
        kerapre.extract_features(cnn_file, images)


def test_extract_text_features_gives_the_pooled_output_per_text(tmp_path):
    run = fake_bert_run(tmp_path)
    texts = ["a gripping story", "dull and overlong", "fine"]
    pooled = kerapre.extract_text_features(run, texts, sequence_length=16, batch_size=2)
    assert pooled.shape == (3, 32)
    encoder, vocab = kerapre.load_encoder(run)
    preprocessor = kerapre.data.BertTextPreprocessor(vocab, sequence_length=16)
    direct = encoder(preprocessor(np.array(texts)), training=False)["pooled_output"]
    np.testing.assert_allclose(pooled, np.asarray(direct), rtol=1e-4, atol=1e-5)
    mean = kerapre.extract_text_features(encoder, texts, vocab=vocab, sequence_length=16, output="mean")
    assert mean.shape == (3, 32) and not np.allclose(mean, pooled)
