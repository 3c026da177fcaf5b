"""The Lee news corpus that ships inside the ``gensim`` package, as a TFDS text set."""

import numpy as np
import tensorflow_datasets as tfds

from kerapre.data.builders.package_files import locate_package_file
from kerapre.data.sentence_splitting import split_sentences

SOURCE_PATH = "gensim/test/test_data/lee_background.cor"
TEST_FRACTION = 0.1
SPLIT_SEED = 20240918

_CITATION = """\
@inproceedings{lee2005empirical,
  title={An empirical evaluation of models of text document similarity},
  author={Lee, Michael D. and Pincombe, Brandon and Welsh, Matthew},
  booktitle={Proceedings of the Annual Meeting of the Cognitive Science Society},
  year={2005}
}"""


def locate_source():
    """The path of ``lee_background.cor`` inside gensim, or a DataError naming the fix."""
    return str(
        locate_package_file("gensim", SOURCE_PATH, missing="lee_news needs gensim", install="pip install gensim==4.4.0")
    )

class LeeNews(tfds.core.GeneratorBasedBuilder):
    """Lee news: 300 Australian news articles from the gensim package, offline.

    Each example is one article, ``text`` holding one sentence per line. Split by article
    with a fixed seed: ``train`` 270 articles, ``test`` 30.

    Examples:

    ```python
    for sentences in kerapre.data.iter_documents("lee_news", "train"):
        ...
    ```
    """

    name = "lee_news"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: 270 train / 30 test articles."}

    @classmethod
    def locate_sources(cls):
        """Checks that the local source file exists, raising DataError if it does not."""
        return locate_source()

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "300 Australian news articles (Lee et al. 2005) shipped with gensim 4.4.0, one "
                "sentence per line; split by article into 90% train and 10% test."
            ),
            features=tfds.features.FeaturesDict({"title": tfds.features.Text(), "text": tfds.features.Text()}),
            supervised_keys=None,
            homepage="https://github.com/piskvorky/gensim",
            citation=_CITATION,
            license="research use",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: the file is already on disk.
        with open(self.locate_sources(), encoding="utf-8") as f:
            articles = [line.strip() for line in f if line.strip()]
        order = np.random.default_rng(SPLIT_SEED).permutation(len(articles))
        test = set(order[: round(len(articles) * TEST_FRACTION)].tolist())
        return {
            "train": self._generate_examples(articles, lambda i: i not in test),
            "test": self._generate_examples(articles, lambda i: i in test),
        }

    def _generate_examples(self, articles, keep):
        for i, article in enumerate(articles):
            if keep(i):
                yield i, {"title": f"lee-{i:03d}", "text": "\n".join(split_sentences(article))}
