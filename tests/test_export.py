import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import kerapre
from kerapre.errors import ExportError
from kerapre.export import atomic_directory, existing_versions, read_metadata
from kerapre.models import CNN

LABELS = [f"class {i}" for i in range(10)]


@pytest.fixture(scope="module")
def model():
    return CNN.from_preset("cnn_mnist")


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    return base, kerapre.export(model, "digits", base_dir=str(base), label_names=LABELS,
                                metadata={"data": "mnist_5k"})


def _pixels(n=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28, 1)).astype("float32")


def test_layout_is_versioned_per_format(exported):
    base, paths = exported
    assert paths == {
        "serving": os.path.join(str(base), "digits", "1"),
        "backbone": os.path.join(str(base), "digits-backbone", "1"),
        "keras": os.path.join(str(base), "digits-keras", "1", "model.keras"),
    }
    assert os.path.exists(os.path.join(paths["serving"], "saved_model.pb"))
    # Nothing temporary is left beside the versions TF Serving scans.
    assert os.listdir(os.path.join(str(base), "digits")) == ["1"]


def test_serving_default_matches_the_keras_model(model, exported):
    _, paths = exported
    signature = tf.saved_model.load(paths["serving"]).signatures["serving_default"]
    x = _pixels()
    out = signature(image=tf.constant(x))
    expected = tf.nn.softmax(model(x)).numpy()
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(out["class_ids"].numpy(), expected.argmax(-1))
    assert [s.decode() for s in out["labels"].numpy()] == [LABELS[i] for i in expected.argmax(-1)]


def test_uint8_signature_matches_float(exported):
    _, paths = exported
    signatures = tf.saved_model.load(paths["serving"]).signatures
    x = _pixels(3, seed=1)
    a = signatures["serving_default"](image=tf.constant(x))["probabilities"]
    b = signatures["serving_uint8"](image=tf.constant(x.astype("uint8")))["probabilities"]
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


def test_saved_model_cli_lists_the_signatures(exported):
    _, paths = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--all", "--dir", paths["serving"]],
                           capture_output=True, text=True, check=True).stdout
    default = shown.split("signature_def['serving_default']")[1].split("signature_def[")[0]
    assert "inputs['image'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 28, 28, 1)" in default
    assert "outputs['probabilities'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 10)" in default
    assert "outputs['class_ids'] tensor_info:\n        dtype: DT_INT64\n        shape: (-1)" in default
    assert "outputs['labels'] tensor_info:\n        dtype: DT_STRING" in default
    assert "signature_def['serving_uint8']" in shown and "DT_UINT8" in shown


def test_metadata_says_what_the_export_is(exported):
    _, paths = exported
    meta = read_metadata(paths["serving"])
    assert meta["format"] == "serving" and meta["version"] == 1 and meta["name"] == "digits"
    assert meta["label_names"] == LABELS and meta["cut"] == "flatten" and meta["data"] == "mnist_5k"
    assert meta["input"] == {"name": "image", "shape": [None, 28, 28, 1], "dtype": "float32", "range": [0, 255]}
    assert meta["kerapre_version"] == kerapre.__version__
    assert read_metadata(paths["backbone"])["output"]["shape"] == [None, 1600]
    assert read_metadata(paths["keras"])["format"] == "keras"


def test_next_export_takes_the_next_version_and_existing_ones_are_refused(model, tmp_path):
    first = kerapre.export(model, "m", base_dir=str(tmp_path), formats=("serving",))
    second = kerapre.export(model, "m", base_dir=str(tmp_path), formats=("serving",))
    assert first["serving"].endswith("1") and second["serving"].endswith("2")
    with pytest.raises(ExportError, match="already exists: pass --overwrite"):
        kerapre.export(model, "m", base_dir=str(tmp_path), formats=("serving",), version=1)
    stamp = os.path.getmtime(os.path.join(first["serving"], "saved_model.pb"))
    kerapre.export(model, "m", base_dir=str(tmp_path), formats=("serving",), version=1, overwrite=True)
    assert existing_versions(os.path.join(str(tmp_path), "m")) == [1, 2]
    assert os.path.getmtime(os.path.join(first["serving"], "saved_model.pb")) >= stamp


def test_a_failed_export_leaves_nothing_and_keeps_the_old_version(tmp_path):
    final = tmp_path / "m" / "1"
    final.mkdir(parents=True)
    (final / "saved_model.pb").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(str(final), overwrite=True) as tmp:
            open(os.path.join(tmp, "saved_model.pb"), "w").write("half")
            raise RuntimeError("disk full")
    assert os.listdir(tmp_path / "m") == ["1"]
    assert (final / "saved_model.pb").read_text() == "old"


def test_bad_export_arguments_are_refused(model, tmp_path):
    with pytest.raises(ExportError, match="unknown export format"):
        kerapre.export(model, "m", base_dir=str(tmp_path), formats=("onnx",))
    with pytest.raises(ExportError, match="positive integer"):
        kerapre.export(model, "m", base_dir=str(tmp_path), version=0)
    with pytest.raises(ValueError, match="3 label names for a model with 10 classes"):
        kerapre.export(model, "m", base_dir=str(tmp_path), label_names=["a", "b", "c"])
    assert not os.path.exists(tmp_path / "m" / "1")


def test_metadata_file_is_json(exported):
    _, paths = exported
    with open(os.path.join(paths["serving"], "assets.extra", "kerapre.json")) as f:
        assert json.load(f)["format"] == "serving"
