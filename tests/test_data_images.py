"""Tests of the image data: loading (images), pipelines (image_pipeline) and few-label subsets
(few_labels)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kerapre.data import (
    dataset_to_numpy,
    default_data_dir,
    few_labels_per_class,
    image_dataset_info,
    image_pipeline,
    load_image_dataset,
    split_labelled_pool,
)
from kerapre.errors import DataError


@pytest.fixture(autouse=True)
def _no_home_cache(tmp_path, monkeypatch):
    # A test that forgets data_dir must not write to the user's ~/.cache.
    monkeypatch.setenv("KERAPRE_DATA_DIR", str(tmp_path / "default_data_dir"))


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("mnist_5k"))
    load_image_dataset("mnist_5k", "test", data_dir=data_dir)
    return data_dir


def _toy(per_class=20, num_classes=10, shape=(2, 2, 1)):
    """(image, label) pairs whose first pixel is the element's index, labels cycling."""
    count = per_class * num_classes
    images = np.zeros((count, *shape), np.uint8)
    images.reshape(count, -1)[:, 0] = np.arange(count)
    labels = np.arange(count, dtype=np.int64) % num_classes
    return tf.data.Dataset.from_tensor_slices((images, labels))


def _indices(ds):
    images, _ = dataset_to_numpy(ds)
    return set(images.reshape(len(images), -1)[:, 0].tolist())


# === Loading ===


def test_load_local_set_with_slicing_into_default_dir(tmp_path):
    ds = load_image_dataset("mnist_5k", "train[:10%]")
    assert (tmp_path / "default_data_dir" / "mnist_5k").is_dir()
    assert default_data_dir() == str(tmp_path / "default_data_dir")
    image_spec, label_spec = ds.element_spec
    assert image_spec.shape == (28, 28, 1) and image_spec.dtype == tf.uint8
    assert label_spec.shape == () and label_spec.dtype == tf.int64
    assert int(ds.cardinality()) == 300


def test_unknown_set_names_list_builders_and_local_sets(tmp_path):
    with pytest.raises(DataError, match=r"tfds\.list_builders\(\).*mnist_5k"):
        load_image_dataset("no_such_images", "train", data_dir=str(tmp_path))


def test_unknown_split_is_a_data_error(mnist_dir):
    with pytest.raises(DataError, match="no split 'validation'"):
        load_image_dataset("mnist_5k", "validation", data_dir=mnist_dir)


def test_non_image_tfds_set_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not an image classification set"):
        load_image_dataset("imdb_reviews", "train", data_dir=str(tmp_path))


@pytest.mark.parametrize("name, shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_online_sets_pass_through_to_tfds(name, shape, tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        ds = load_image_dataset(name, "train[:50%]", data_dir=str(tmp_path))
        info = image_dataset_info(name, data_dir=str(tmp_path))
        batches = list(image_pipeline(ds, batch_size=4, training=True, image_shape=shape))
    assert info.image_shape == shape and info.num_classes == 10
    assert [tuple(images.shape) for images, _ in batches] == [(4, *shape), (2, *shape)]
    assert all(labels.dtype == tf.int64 for _, labels in batches)


# === image_pipeline ===


def test_pipeline_batches_float_pixels_without_normalising():
    ds = _toy(per_class=1, shape=(28, 28, 1)).map(lambda x, y: (x * 0 + 255, y))
    batches = list(image_pipeline(ds, batch_size=4, training=False, image_shape=(28, 28, 1)))
    assert [int(images.shape[0]) for images, _ in batches] == [4, 4, 2]
    images, labels = batches[0]
    assert images.dtype == tf.float32 and labels.dtype == tf.int64
    assert float(tf.reduce_max(images)) == 255.0
    assert labels.numpy().tolist() == [0, 1, 2, 3]


def test_pipeline_drop_remainder_and_repeat():
    dropped = image_pipeline(_toy(per_class=1), batch_size=4, training=False, drop_remainder=True)
    assert [int(x.shape[0]) for x, _ in dropped] == [4, 4]
    assert dropped.element_spec[0].shape == (4, 2, 2, 1)
    endless = image_pipeline(_toy(per_class=1), batch_size=4, training=True, repeat=True)
    assert int(endless.cardinality()) == tf.data.INFINITE_CARDINALITY


def test_pipeline_shuffles_with_seed_and_reshuffles_each_epoch():
    def epochs(seed):
        ds = image_pipeline(_toy(), batch_size=200, training=True, seed=seed)
        return [tuple(x[:, 0, 0, 0].numpy().astype(int)) for _ in range(2) for x, _ in ds]

    first, second = epochs(seed=3)
    assert sorted(first) == list(range(200))
    assert first != tuple(range(200)) and first != second
    assert epochs(seed=3) == [first, second]


def test_pipeline_wrong_image_shape_is_a_data_error():
    ds = _toy(per_class=1, shape=(32, 32, 3))
    with pytest.raises(DataError, match=r"\(32, 32, 3\) but the model expects \(28, 28, 1\)"):
        image_pipeline(ds, batch_size=2, training=True, image_shape=(28, 28, 1))


def test_pipeline_empty_or_batched_input_is_a_data_error():
    with pytest.raises(DataError, match="empty"):
        image_pipeline(_toy().take(0), batch_size=2, training=False)
    with pytest.raises(DataError, match="unbatched"):
        image_pipeline(_toy().batch(2), batch_size=2, training=False)
    with pytest.raises(DataError, match="endless"):
        image_pipeline(_toy().repeat(), batch_size=2, training=False)


# === few labels ===


def test_few_labels_per_class_keeps_exactly_k_of_each():
    subset = few_labels_per_class(_toy(), 3, num_classes=10, seed=0)
    assert int(subset.cardinality()) == 30
    _, labels = dataset_to_numpy(subset)
    assert np.bincount(labels, minlength=10).tolist() == [3] * 10


def test_few_labels_per_class_is_deterministic_per_seed():
    picks = lambda seed: _indices(few_labels_per_class(_toy(), 3, num_classes=10, seed=seed))
    assert picks(0) == picks(0)
    assert picks(0) != picks(1)


def test_few_labels_ignores_tensorflow_global_seed():
    try:
        tf.random.set_seed(1)
        first = _indices(few_labels_per_class(_toy(), 2, num_classes=10, seed=5))
        tf.random.set_seed(2)
        second = _indices(few_labels_per_class(_toy(), 2, num_classes=10, seed=5))
    finally:
        tf.random.set_seed(None)
    assert first == second


def test_few_labels_too_few_examples_is_a_data_error():
    with pytest.raises(DataError, match="class 0 has only 20 examples"):
        few_labels_per_class(_toy(), 21, num_classes=10, seed=0)
    with pytest.raises(DataError, match="class 10 has only 0 examples"):
        few_labels_per_class(_toy(), 1, num_classes=11, seed=0)
    with pytest.raises(DataError, match="num_classes=5"):
        few_labels_per_class(_toy(), 1, num_classes=5, seed=0)


def test_split_labelled_pool_is_disjoint_and_covers_the_set():
    labelled, rest = split_labelled_pool(_toy(), 4, num_classes=10, seed=2)
    assert (int(labelled.cardinality()), int(rest.cardinality())) == (40, 160)
    labelled_ids, rest_ids = _indices(labelled), _indices(rest)
    assert not labelled_ids & rest_ids
    assert labelled_ids | rest_ids == set(range(200))
    assert labelled_ids == _indices(few_labels_per_class(_toy(), 4, num_classes=10, seed=2))


def test_few_labels_on_real_mnist_5k(mnist_dir):
    pool = load_image_dataset("mnist_5k", "train", data_dir=mnist_dir)
    labelled, rest = split_labelled_pool(pool, 10, num_classes=10, seed=0)
    _, labels = dataset_to_numpy(labelled)
    assert np.bincount(labels).tolist() == [10] * 10
    assert int(rest.cardinality()) == 2900


def test_dataset_to_numpy_of_an_empty_set():
    images, labels = dataset_to_numpy(_toy().take(0))
    assert images.shape == (0, 2, 2, 1) and images.dtype == np.uint8
    assert labels.shape == (0,) and labels.dtype == np.int64
