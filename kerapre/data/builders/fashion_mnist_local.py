"""The full Fashion-MNIST from the Debian package ``dataset-fashion-mnist``, as a TFDS set."""

import gzip
import os

import numpy as np
import tensorflow_datasets as tfds

from kerapre.errors import DataError

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
DIR_ENV_VAR = "KERAPRE_FASHION_MNIST_DIR"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
LABEL_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# IDX headers: magic + item count (+ rows + cols for images), big-endian int32 each.
_IMAGES_OFFSET = 16
_LABELS_OFFSET = 8

_CITATION = """\
@article{DBLP:journals/corr/abs-1708-07747,
  author    = {Han Xiao and Kashif Rasul and Roland Vollgraf},
  title     = {Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  journal   = {CoRR},
  volume    = {abs/1708.07747},
  year      = {2017},
  url       = {http://arxiv.org/abs/1708.07747},
}
"""


def source_dir():
    """Returns the folder of the IDX files: ``$KERAPRE_FASHION_MNIST_DIR`` or the Debian path.

    Examples:

    ```python
    source_dir()  # "/usr/share/datasets/fashion-mnist" unless the variable is set
    ```
    """
    return os.environ.get(DIR_ENV_VAR) or DEFAULT_DIR


def locate_files():
    """Returns ``{split: (images_path, labels_path)}``, checking that all four files exist.

    Raises:
        DataError: if any file is missing, with the command that installs them.

    Examples:

    ```python
    images_path, labels_path = locate_files()["train"]
    ```
    """
    folder = source_dir()
    paths = {
        split: tuple(os.path.join(folder, name) for name in names)
        for split, names in FILES.items()
    }
    if not all(os.path.isfile(p) for pair in paths.values() for p in pair):
        raise DataError(
            f"Fashion-MNIST files not found in {folder}: install them with "
            "`apt-get install dataset-fashion-mnist` or use the online TFDS set `fashion_mnist`"
        )
    return paths


def read_idx(images_path, labels_path):
    """Reads a pair of gzipped IDX files into ``(images uint8 [N, 28, 28, 1], labels uint8 [N])``.

    Args:
        images_path: an ``*-images-idx3-ubyte.gz`` file.
        labels_path: the matching ``*-labels-idx1-ubyte.gz`` file.

    Raises:
        DataError: if the two files hold a different number of items.

    Examples:

    ```python
    images, labels = read_idx(*locate_files()["test"])  # (10000, 28, 28, 1), (10000,)
    ```
    """
    with gzip.open(images_path, "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=_IMAGES_OFFSET)
    with gzip.open(labels_path, "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=_LABELS_OFFSET)
    images = images.reshape(-1, 28, 28, 1)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} "
            "labels: reinstall dataset-fashion-mnist"
        )
    return images, labels


class FashionMnistLocal(tfds.core.GeneratorBasedBuilder):
    """Fashion-MNIST from local IDX files (Debian ``dataset-fashion-mnist``), nothing downloaded.

    Splits: ``train`` 60,000 and ``test`` 10,000 images of 10 clothing classes. The files are
    read from ``$KERAPRE_FASHION_MNIST_DIR`` if set, else ``/usr/share/datasets/fashion-mnist``;
    they are only needed the first time the set is prepared into a data dir.

    Examples:

    ```python
    builder = FashionMnistLocal(data_dir="/tmp/tfds")
    builder.download_and_prepare()
    ds = builder.as_dataset(split="test", as_supervised=True, shuffle_files=False)
    ```
    """

    name = "fashion_mnist_local"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: 60,000 train / 10,000 test."}

    @classmethod
    def locate_sources(cls):
        """Checks that the local source files exist, raising DataError if they do not."""
        return locate_files()

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Fashion-MNIST: Zalando's 28x28 grayscale article images, 60,000 train and "
                "10,000 test, 10 classes; read from the Debian package dataset-fashion-mnist."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(28, 28, 1)),
                    "label": tfds.features.ClassLabel(names=list(LABEL_NAMES)),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            citation=_CITATION,
            license="MIT (Zalando SE)",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: the files are already on disk.
        paths = self.locate_sources()
        return {split: self._generate_examples(*pair) for split, pair in paths.items()}

    def _generate_examples(self, images_path, labels_path):
        images, labels = read_idx(images_path, labels_path)
        # The position in the file is a stable key, so TFDS's shuffle-by-key is reproducible.
        for index, (image, label) in enumerate(zip(images, labels)):
            yield index, {"image": image, "label": int(label)}
