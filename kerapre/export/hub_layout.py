"""What a kerapre TF Hub export is made of: its directories, formats and input names, and the
vocabulary asset and ``kerapre.json`` each of its SavedModels carries."""

import os
import tempfile

import tensorflow as tf

from kerapre.data.vocab import VOCAB_FILENAME
from kerapre.export.layout import write_metadata

ENCODER_DIR = "encoder"
PREPROCESSOR_DIR = "preprocessor"
ENCODER_FORMAT = "hub_encoder"
PREPROCESSOR_FORMAT = "hub_preprocessor"
# TF Hub input names and the kerapre (keras-hub) encoder inputs they feed.
HUB_TO_KERAPRE_INPUTS = {
    "input_word_ids": "token_ids",
    "input_mask": "padding_mask",
    "input_type_ids": "segment_ids",
}


def save_with_vocabulary(root, directory, vocabulary, signatures):
    """Saves ``root`` with the vocabulary as its ``vocab_file`` asset (``assets/vocab.txt``)."""
    with tempfile.TemporaryDirectory(prefix="kerapre-hub-") as tmp:
        vocab_file = os.path.join(tmp, VOCAB_FILENAME)
        with open(vocab_file, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(f"{token}\n" for token in vocabulary))
        root.vocab_file = tf.saved_model.Asset(vocab_file)
        tf.saved_model.save(root, os.fspath(directory), signatures=signatures)


def write_hub_metadata(directory, record):
    """Writes ``record`` as the ``assets.extra/kerapre.json`` of the SavedModel in ``directory``."""
    extra = os.path.join(os.fspath(directory), "assets.extra")
    os.makedirs(extra, exist_ok=True)
    return write_metadata(extra, record)
