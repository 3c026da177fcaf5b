"""Data sets and input pipelines.

Importing this package registers the local TFDS builders ``mnist_5k`` and
``fashion_mnist_local``.
"""

from kerapre.data.builders import FashionMnistLocal, Mnist5k
from kerapre.data.few_labels import few_labels_per_class, split_labelled_pool
from kerapre.data.image_pipeline import dataset_to_numpy, image_pipeline
from kerapre.data.images import (
    LOCAL_DATASETS,
    ImageDatasetInfo,
    default_data_dir,
    image_dataset_info,
    load_image_dataset,
)

__all__ = [
    "LOCAL_DATASETS",
    "FashionMnistLocal",
    "ImageDatasetInfo",
    "Mnist5k",
    "dataset_to_numpy",
    "default_data_dir",
    "few_labels_per_class",
    "image_dataset_info",
    "image_pipeline",
    "load_image_dataset",
    "split_labelled_pool",
]

# Text for BERT pretraining: corpora, WordPiece vocabularies and next-sentence pairs.
# Importing wiki_sample registers it with TFDS.
from kerapre.data.builders.lee_news import LeeNews  # noqa: E402
from kerapre.data.builders.wiki_sample import WikiSample  # noqa: E402
from kerapre.data.corpus import (  # noqa: E402
    CorpusStats,
    DocumentIterator,
    iter_documents,
    scan_corpus,
)
from kerapre.data.pair_records import (  # noqa: E402
    load_pretraining_records,
    write_pretraining_records,
)
from kerapre.data.pairs_info import PairsInfo, check_vocabulary, load_pairs_info  # noqa: E402
from kerapre.data.pretraining_pairs import create_pairs, pairs_dataset  # noqa: E402
from kerapre.data.sentence_splitting import split_sentences  # noqa: E402
from kerapre.data.vocab import (  # noqa: E402
    SPECIAL_TOKENS,
    load_vocabulary,
    make_tokenizer,
    vocabulary_hash,
)
from kerapre.data.vocab_learning import learn_vocabulary, learn_vocabulary_keras_hub  # noqa: E402

__all__ += [
    "SPECIAL_TOKENS",
    "CorpusStats",
    "DocumentIterator",
    "PairsInfo",
    "LeeNews",
    "WikiSample",
    "check_vocabulary",
    "create_pairs",
    "iter_documents",
    "learn_vocabulary",
    "learn_vocabulary_keras_hub",
    "load_pairs_info",
    "load_pretraining_records",
    "load_vocabulary",
    "make_tokenizer",
    "pairs_dataset",
    "scan_corpus",
    "split_sentences",
    "vocabulary_hash",
    "write_pretraining_records",
]

# Text classification: the offline rotten_tomatoes set (importing it registers it with
# TFDS), online TFDS sets, and the BERT preprocessor that tokenises them.
from kerapre.data.builders.rotten_tomatoes import RottenTomatoes  # noqa: E402
from kerapre.data.text_classification import (  # noqa: E402
    TextDatasetInfo,
    load_text_classification,
    majority_class_rate,
    split_labelled_texts,
    text_dataset_info,
    text_pipeline,
    trim_to_longest,
)
from kerapre.data.text_preprocessor import BertTextPreprocessor  # noqa: E402

__all__ += [
    "BertTextPreprocessor",
    "RottenTomatoes",
    "TextDatasetInfo",
    "load_text_classification",
    "majority_class_rate",
    "split_labelled_texts",
    "text_dataset_info",
    "text_pipeline",
    "trim_to_longest",
]

# Your own data: image folders and CSV / TSV / JSON Lines tables (prepared once into the cache).
from kerapre.data.image_folder import FolderOptions  # noqa: E402
from kerapre.data.image_pipeline import conform_images  # noqa: E402
from kerapre.data.text_table import TableOptions  # noqa: E402

__all__ += ["FolderOptions", "TableOptions", "conform_images"]
