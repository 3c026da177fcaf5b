import keras
import numpy as np
import pytest

from kerapre.errors import ConfigError
from kerapre.models import CNN, backbone_of, list_presets


def test_presets_have_the_tutorial_parameter_counts():
    # Keras tutorial counts: 28x28x1 -> 225,034; 32x32x3 (TF CNN tutorial) -> 122,570.
    assert CNN.from_preset("cnn_mnist").count_params() == 225_034
    assert CNN.from_preset("cnn_cifar").count_params() == 122_570
    assert list_presets() == ["cnn_cifar", "cnn_mnist"]


def test_layers_follow_the_tutorial_order():
    names = [layer.name for layer in CNN.from_preset("cnn_mnist").layers]
    assert names == ["image", "rescale", "conv_1", "pool_1", "conv_2", "pool_2", "flatten", "dense_1", "logits"]
    cifar = [layer.name for layer in CNN.from_preset("cnn_cifar").layers]
    assert cifar == ["image", "rescale", "conv_1", "pool_1", "conv_2", "pool_2", "conv_3", "flatten", "dense_1", "logits"]


def test_raw_uint8_and_float_pixels_give_the_same_logits():
    model = CNN.from_preset("cnn_mnist")
    pixels = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1)).astype("uint8")
    np.testing.assert_allclose(model(pixels).numpy(), model(pixels.astype("float32")).numpy(), rtol=1e-6)
    assert model(pixels).shape == (3, 10)


def test_get_config_round_trips():
    model = CNN.from_preset("cnn_cifar", num_classes=4, cut="conv_3")
    clone = CNN.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(clone(x).numpy(), model(x).numpy(), atol=1e-6)


def test_keras_file_round_trips_with_safe_mode(tmp_path):
    model = CNN.from_preset("cnn_mnist")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode stays on
    assert isinstance(loaded, CNN) and loaded.cut == "flatten"
    x = np.ones((1, 28, 28, 1), "float32") * 100
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)


def test_backbone_ends_at_the_cut_and_shares_weights():
    model = CNN.from_preset("cnn_mnist")
    backbone = backbone_of(model)
    assert backbone.output_shape == (None, 1600)
    assert backbone_of(model, "dense_1").output_shape == (None, 128)
    assert backbone.get_layer("conv_1") is model.get_layer("conv_1")


def test_bad_preset_and_cut_raise_clear_errors():
    with pytest.raises(ConfigError, match="unknown CNN preset 'resnet'.*cnn_cifar"):
        CNN.from_preset("resnet")
    with pytest.raises(ConfigError, match="cut layer 'nope' is not in model"):
        backbone_of(CNN.from_preset("cnn_mnist"), "nope")
    with pytest.raises(ValueError, match="cut 'nope' is not a layer"):
        CNN.from_preset("cnn_mnist", cut="nope")
