import json

import keras
import numpy as np
import pytest

from kerapre.data import dataset_to_numpy, load_image_dataset
from kerapre.errors import DataError
from kerapre.models.cnn import CNN, backbone_of
from kerapre.tasks import RotationPretrainer


@pytest.fixture(scope="module")
def digits():
    """16 real MNIST digits, raw 0-255 pixels as float32."""
    images, _ = dataset_to_numpy(load_image_dataset("mnist_5k", "train").take(16))
    return images.astype("float32")


def _pretrainer(**kwargs):
    return RotationPretrainer(backbone_of(CNN.from_preset("cnn_mnist")), **kwargs)


def test_random_rotation_labels_match_the_rotation_applied(digits):
    keras.utils.set_random_seed(0)
    rotated, turns = _pretrainer().rotation_batch(digits)
    rotated, turns = rotated.numpy(), turns.numpy()
    assert rotated.shape == digits.shape and turns.shape == (16,)
    assert set(turns) <= {0, 1, 2, 3} and len(set(turns)) > 1
    for image, back, k in zip(digits, rotated, turns):
        np.testing.assert_array_equal(np.rot90(back, -k), image)  # rotating back recovers the image
        if k % 2:
            assert not np.array_equal(back, image)


def test_all_rotations_gives_every_rotation_of_every_image(digits):
    rotated, turns = _pretrainer(rotations="all").rotation_batch(digits)
    assert rotated.shape == (64, 28, 28, 1)
    np.testing.assert_array_equal(turns.numpy(), np.repeat(np.arange(4), 16))
    for i, k in enumerate(turns.numpy()):
        np.testing.assert_array_equal(np.rot90(rotated[i].numpy(), -k), digits[i % 16])


def test_loss_goes_down_on_a_fixed_batch(digits):
    keras.utils.set_random_seed(0)
    model = _pretrainer(rotations="all")
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(digits, batch_size=16, epochs=6, verbose=0).history  # one step per epoch
    assert history["loss"][-1] < history["loss"][0] - 0.1, history["loss"]
    assert set(history) == {"loss", "rotation_accuracy"}


def test_labels_are_refused_and_bad_arguments_too(digits):
    model = _pretrainer()
    model.compile("adam")
    with pytest.raises(DataError, match="learns from images alone"):
        model.fit(digits, np.zeros(16), verbose=0)
    with pytest.raises(ValueError, match="random.*all"):
        _pretrainer(rotations="some")
    image = keras.Input((28, 32, 1))
    wide = keras.Model(image, keras.layers.Flatten()(image))
    with pytest.raises(ValueError, match="square"):
        RotationPretrainer(wide)


def test_keras_file_round_trips_with_safe_mode(digits, tmp_path):
    model = _pretrainer(head_units=0, rotations="all")
    path = str(tmp_path / "rotation.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode on
    assert isinstance(loaded, RotationPretrainer)
    assert json.loads(json.dumps(loaded.get_config())) == json.loads(json.dumps(model.get_config()))
    np.testing.assert_allclose(loaded.predict(digits, verbose=0), model.predict(digits, verbose=0), atol=1e-5)
