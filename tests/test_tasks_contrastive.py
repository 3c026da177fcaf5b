import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerapre.distribute import get_strategy
from kerapre.data import dataset_to_numpy, load_image_dataset
from kerapre.errors import DataError
from kerapre.models.cnn import CNN, backbone_of
from kerapre.tasks import ContrastivePretrainer, nt_xent_loss

NO_AUGMENTATION = dict(crop_area=1.0, translation=0.0, noise=0.0, contrast=0.0)


@pytest.fixture(scope="module")
def digits():
    """16 real MNIST digits, raw 0-255 pixels as float32."""
    images, _ = dataset_to_numpy(load_image_dataset("mnist_5k", "train").take(16))
    return images.astype("float32")


def _pretrainer(**kwargs):
    return ContrastivePretrainer(backbone_of(CNN.from_preset("cnn_mnist")), **kwargs)


def _nt_xent_numpy(z1, z2, temperature):
    """SimCLR's eq. 1, anchor by anchor."""
    z = np.concatenate([z1, z2]).astype("float64")
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z1)
    losses = []
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        similarities = np.exp(z @ z[i] / temperature)
        losses.append(-np.log(similarities[positive] / (similarities.sum() - similarities[i])))
    return np.mean(losses)


def test_two_views_differ_and_keep_shape_and_dtype(digits):
    keras.utils.set_random_seed(0)
    model = _pretrainer()
    views = model.views(digits).numpy()
    assert views.shape == (32, 28, 28, 1) and views.dtype == np.float32
    assert views.min() >= 0 and views.max() <= 255
    first, second = views[:16], views[16:]
    assert all(np.abs(a - b).max() > 1 for a, b in zip(first, second)), "an image got two identical views"
    assert all(np.abs(a - x).max() > 1 for a, x in zip(first, digits)), "a view is the unchanged image"
    # Outside training the augmenter leaves images alone: inference never augments.
    np.testing.assert_allclose(model.augmenter(digits, training=False).numpy(), digits, atol=1e-3)


def test_nt_xent_matches_a_direct_numpy_computation():
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(4, 8)).astype("float32"), rng.normal(size=(4, 8)).astype("float32")
    for temperature in (0.1, 0.5):
        expected = _nt_xent_numpy(z1, z2, temperature)
        assert float(nt_xent_loss(z1, z2, temperature)) == pytest.approx(expected, abs=1e-5)
    # Matching views score far better than unrelated ones.
    assert float(nt_xent_loss(z1, z1 * 2.0, 0.1)) < float(nt_xent_loss(z1, z2, 0.1)) - 1


def test_loss_goes_down_on_a_fixed_batch(digits):
    keras.utils.set_random_seed(0)
    model = _pretrainer()
    model.compile(keras.optimizers.Adam(1e-3))
    losses = model.fit(digits, batch_size=16, epochs=10, verbose=0).history["loss"]  # one step per epoch
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.1, losses


def test_labels_are_refused(digits):
    model = _pretrainer()
    model.compile("adam")
    with pytest.raises(DataError, match="learns from images alone"):
        model.fit(digits, np.zeros(16), verbose=0)


def test_keras_file_round_trips_with_safe_mode(digits, tmp_path):
    model = _pretrainer(projection_dim=32, temperature=0.2, flip=True)
    path = str(tmp_path / "simclr.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode on
    assert isinstance(loaded, ContrastivePretrainer)
    assert json.loads(json.dumps(loaded.get_config())) == json.loads(json.dumps(model.get_config()))
    np.testing.assert_allclose(loaded.predict(digits, verbose=0), model.predict(digits, verbose=0), atol=1e-5)


def test_mirrored_loss_is_the_global_mean_of_per_replica_losses(digits):
    """Two replicas, 4 images each: the step's loss and update are those of the mean of the two
    replicas' NT-Xent losses, each contrasting its own 4 images only."""
    keras.utils.set_random_seed(0)
    images = digits[:8]
    strategy = get_strategy("mirrored")  # one per process: see kerapre.distribute
    with strategy.scope():
        model = _pretrainer(**NO_AUGMENTATION)  # identical views: the step is deterministic
        model.compile(keras.optimizers.SGD(0.1))
    reference = ContrastivePretrainer.from_config(model.get_config())
    reference.set_weights(model.get_weights())

    with tf.GradientTape() as tape:
        per_replica = [nt_xent_loss(*tf.split(reference(reference.views(half)), 2), 0.1)
                       for half in (images[:4], images[4:])]
        expected_loss = (per_replica[0] + per_replica[1]) / 2
    gradients = tape.gradient(expected_loss, reference.trainable_weights)
    expected = [w.numpy() - 0.1 * g.numpy() for w, g in zip(reference.trainable_weights, gradients)]

    history = model.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0, shuffle=False)
    assert history.history["loss"][0] == pytest.approx(float(expected_loss), abs=1e-4)
    for trained, want in zip(model.trainable_weights, expected):
        np.testing.assert_allclose(trained.numpy(), want, atol=1e-5)
