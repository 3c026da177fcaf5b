"""Raw text to BERT encoder inputs: WordPiece tokens packed as ``[CLS] A [SEP] (B [SEP])``."""

import keras
import keras_hub
import numpy as np
import tensorflow as tf
from tqdm import tqdm
from keras_hub.src.layers.preprocessing.preprocessing_layer import PreprocessingLayer

from kerapre.data.vocab import load_vocabulary, make_tokenizer
from kerapre.errors import DataError

TOKENISE_BATCH = 1024


@keras.saving.register_keras_serializable(package="kerapre")
class BertTextPreprocessor(PreprocessingLayer):
    """Maps raw strings, or pairs of strings, to the inputs of a ``BertEncoder``.

    Text is split into WordPieces by ``kerapre.data.make_tokenizer`` (BERT normalisation,
    unknown words become ``[UNK]``) and packed by ``keras_hub.layers.MultiSegmentPacker``
    into ``[CLS] A [SEP]``, or ``[CLS] A [SEP] B [SEP]`` for a pair, padded with
    ``[PAD]`` to ``sequence_length``. Text that does not fit is cut, for a pair one token
    at a time from each side in turn (``round_robin``); an empty string gives
    ``[CLS] [SEP]``.

    Like keras-hub's preprocessors it takes ``(x, y, sample_weight)``: ``x`` is a string,
    a batch of strings, or a tuple ``(first, second)`` of string batches for sentence
    pairs; ``y`` and ``sample_weight`` pass through unchanged, so ``ds.map(preprocessor)``
    works on a ``(text, label)`` or ``((first, second), label)`` data set (tf.data spreads
    an element's outer tuple over the arguments, so map a data set of unlabelled pairs
    with ``lambda a, b: preprocessor((a, b))``). It runs eagerly, in ``tf.data`` and in a
    ``tf.function``.

    Outputs (dict of int32 ``[batch, sequence_length]``, or ``[sequence_length]`` for one
    string): ``token_ids``, ``segment_ids`` (0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``)
    and ``padding_mask`` (1 on tokens, 0 on padding).

    Args:
        vocabulary: a list of WordPiece tokens or the path of a ``vocab.txt`` (checked
            as by ``load_vocabulary``); ``get_config`` stores the list.
        sequence_length: the fixed length of every packed sequence.
        lowercase: True for an uncased vocabulary.
        strip_accents: remove accents; ``None`` (the default) follows ``lowercase``, as
            in BERT. A checkpoint's ``tokenizer_config.json`` may say otherwise
            (``strip_accents: false`` on an uncased vocabulary that keeps ``é``).

    Examples:

    ```python
    preprocessor = BertTextPreprocessor("runs/bert/vocab.txt", sequence_length=64)
    inputs = preprocessor(["A gripping film.", ""])
    inputs["token_ids"].shape  # (2, 64)
    pairs = preprocessor((["Is it good?"], ["It is."]))
    train = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(32).map(preprocessor)
    ```
    """

    def __init__(self, vocabulary, sequence_length=128, lowercase=True, strip_accents=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(vocabulary, (list, tuple)):
            vocabulary = load_vocabulary(vocabulary)
        # === Layers ===
        strip_accents = lowercase if strip_accents is None else bool(strip_accents)
        self.tokenizer = make_tokenizer(list(vocabulary), lowercase=lowercase, strip_accents=strip_accents)
        self.packer = keras_hub.layers.MultiSegmentPacker(
            sequence_length=sequence_length,
            start_value=self.tokenizer.cls_token_id,
            end_value=self.tokenizer.sep_token_id,
            pad_value=self.tokenizer.pad_token_id,
            truncate="round_robin",
        )

        # === Config ===
        self.vocabulary = list(vocabulary)
        self.sequence_length = sequence_length
        self.lowercase = lowercase
        self.strip_accents = strip_accents

    @property
    def vocabulary_size(self):
        """The number of WordPiece ids."""
        return len(self.vocabulary)

    def __call__(self, *args, **kwargs):
        # keras-hub's PreprocessingLayer reads a lone tuple as an (x, y) element; here it
        # is a sentence pair. tf.data still unpacks (x, y) elements into two arguments.
        return keras.layers.Layer.__call__(self, *args, **kwargs)

    def call(self, x, y=None, sample_weight=None):
        segments = x if isinstance(x, tuple) else (x,)
        if len(segments) > 2:
            raise DataError(
                f"BertTextPreprocessor packs one text or a pair, got a tuple of {len(segments)}: "
                "pass texts or (first, second)"
            )
        token_ids, segment_ids = self.packer(tuple(self.tokenizer(segment) for segment in segments))
        token_ids = tf.cast(token_ids, tf.int32)
        x = {
            "token_ids": token_ids,
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.cast(tf.not_equal(token_ids, self.tokenizer.pad_token_id), tf.int32),
        }
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            "sequence_length": self.sequence_length,
            "lowercase": self.lowercase,
            "strip_accents": self.strip_accents,
        }


def tokenise(preprocessor, texts):
    """Token ids of ``texts`` (an array of strings, or a tuple of two for pairs) as a dict of
    int32 arrays, tokenised in ``tf.data`` batches with a progress bar."""
    pair = isinstance(texts, tuple)
    count = len(texts[0]) if pair else len(texts)
    ds = tf.data.Dataset.from_tensor_slices(tuple(list(t) for t in texts) if pair else list(texts))
    ds = ds.batch(TOKENISE_BATCH)
    ds = ds.map(lambda first, second: preprocessor((first, second))) if pair else ds.map(preprocessor)
    parts = list(tqdm(ds.as_numpy_iterator(), desc="tokenising", leave=False, disable=count < 4096,
                      total=-(-count // TOKENISE_BATCH)))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
