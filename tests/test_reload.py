import keras
import numpy as np
import pytest

import kerapre
from kerapre.errors import ExportError
from kerapre.models import CNN
from kerapre.tasks import ImageClassifier
from helpers import tiny_images


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = CNN.from_preset("cnn_mnist")
    base = tmp_path_factory.mktemp("exports")
    return model, kerapre.export(model, "src", base_dir=str(base))


def _finetune(backbone, optimizer="adamw", epochs=2):
    model = ImageClassifier(backbone, num_classes=10)
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = tiny_images(32)
    history = model.fit(x.astype("float32"), y, epochs=epochs, batch_size=16, verbose=0)
    return model, history.history["loss"]


@pytest.mark.parametrize("kind", ["backbone", "keras"])
def test_frozen_backbone_stays_bit_for_bit_unchanged(exported, kind):
    _, paths = exported
    backbone = kerapre.load_backbone(paths[kind], trainable=False)
    before = [w.numpy().copy() for w in backbone.weights]
    model, _ = _finetune(backbone)
    assert backbone.trainable_weights == []
    assert all(np.array_equal(b, a.numpy()) for b, a in zip(before, backbone.weights))
    assert len(model.trainable_weights) == 4  # only the new head trains


@pytest.mark.parametrize("kind", ["backbone", "keras"])
def test_trainable_backbone_is_updated_with_adamw(exported, kind):
    _, paths = exported
    backbone = kerapre.load_backbone(paths[kind], trainable=True)
    before = [w.numpy().copy() for w in backbone.weights]
    _, losses = _finetune(backbone, epochs=4)
    assert len(backbone.trainable_weights) == 4
    assert not any(np.array_equal(b, a.numpy()) for b, a in zip(before, backbone.weights))
    assert losses[-1] < losses[0]


def test_reloaded_backbones_compute_the_original_features(exported):
    model, paths = exported
    x = np.random.default_rng(0).uniform(0, 255, (4, 28, 28, 1)).astype("float32")
    expected = kerapre.models.backbone_of(model)(x).numpy()
    for kind in ("backbone", "keras"):
        backbone = kerapre.load_backbone(paths[kind])
        assert backbone.output_shape == (None, 1600)
        np.testing.assert_allclose(backbone(x).numpy(), expected, atol=1e-5)


def test_a_version_parent_directory_means_the_latest_version(exported):
    _, paths = exported
    parent = paths["backbone"].rsplit("/", 1)[0]
    assert kerapre.load_backbone(parent).output_shape == (None, 1600)


def test_cut_can_be_chosen_when_loading_a_full_model(exported):
    _, paths = exported
    assert kerapre.load_backbone(paths["keras"], cut="dense_1").output_shape == (None, 128)


def test_training_true_reaches_the_saved_model_training_endpoint(tmp_path):
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    features = keras.layers.Dropout(0.5, name="drop")(x)
    backbone = keras.Model(inputs, features)
    paths = kerapre.export(
        keras.Model(inputs, keras.layers.Dense(2)(features)), "drop", base_dir=str(tmp_path),
        formats=("backbone",), cut="drop",
    )
    reloaded = kerapre.load_backbone(paths["backbone"], trainable=True)
    x = np.ones((2, 28, 28, 1), "float32")
    np.testing.assert_array_equal(reloaded(x, training=False).numpy(), backbone(x).numpy())
    dropped = reloaded(x, training=True).numpy()
    assert (dropped == 0).mean() > 0.3  # dropout really ran


def test_stock_tfsmlayer_still_fails_with_adam(exported):
    """When this fails, keras fixed TFSMLayer: drop kerapre's SavedModelLayer workaround."""
    _, paths = exported
    layer = keras.layers.TFSMLayer(paths["backbone"], call_endpoint="serve", trainable=True)
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, keras.layers.Dense(10)(layer(inputs)["features"]))
    model.compile(keras.optimizers.Adam(), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = tiny_images(8)
    with pytest.raises(ValueError, match="not a valid scope name"):
        model.fit(x.astype("float32"), y, epochs=1, verbose=0)


def test_bad_paths_raise_clear_errors(tmp_path, exported):
    _, paths = exported
    with pytest.raises(ExportError, match="does not exist"):
        kerapre.load_backbone(tmp_path / "missing")
    with pytest.raises(ExportError, match="holds no model kerapre can read.*pass a run directory"):
        kerapre.load_backbone(tmp_path)
    with pytest.raises(ExportError, match="is a TF Serving export .*, not an image backbone: pass a backbone export"):
        kerapre.load_backbone(paths["serving"])
