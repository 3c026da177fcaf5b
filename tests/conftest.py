"""Shared test set-up: two logical CPU devices (for MirroredStrategy) and a private data dir."""

import os
import tempfile

# Prepared TFDS data goes to a directory of this test session, never the user's cache.
os.environ.setdefault("KERAPRE_DATA_DIR", tempfile.mkdtemp(prefix="kerapre-test-data-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from kerapre.distribute import split_cpu  # noqa: E402

# Must happen before TensorFlow initialises its devices, i.e. before any test runs an op.
split_cpu(2)


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts (and leaves) the global dtype policy at float32."""
    keras.mixed_precision.set_dtype_policy("float32")
    yield
    keras.mixed_precision.set_dtype_policy("float32")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Runs the test inside an empty temporary working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def cnn_file(tmp_path_factory):
    """A .keras file of a cnn_mnist model with fresh weights: a backbone load_backbone,
    extract_features and the report can load."""
    from kerapre.models.cnn import CNN

    path = tmp_path_factory.mktemp("cnn") / "model.keras"
    keras.utils.set_random_seed(0)
    CNN.from_preset("cnn_mnist").save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def pretrain_run(tmp_path_factory):
    """A fake BERT pretraining run (a 400-token vocabulary, a one-layer encoder): see
    ``tests.helpers.fake_bert_run``."""
    from helpers import fake_bert_run

    return fake_bert_run(tmp_path_factory.mktemp("bert_run"))
