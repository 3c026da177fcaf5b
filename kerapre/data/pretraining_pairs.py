"""BERT next-sentence pairs: ``[CLS] A [SEP] B [SEP]`` from a corpus of documents.

The pairs follow Google's ``create_pretraining_data.py``: sentences of a document are
gathered into a chunk of about ``seq_length - 3`` tokens (shorter with probability
``short_seq_prob``), the chunk is cut at a random sentence boundary into A and B, and
half of the time B is replaced by a span of sentences from another document (the
unused sentences go back to be read again). Masking is left out: the training input
pipeline masks tokens anew every epoch (``kerapre.data.masking.PretrainingMasker``).

This module makes pairs in memory; ``pair_maker`` holds the algorithm,
``pair_records`` writes pairs once as TFRecord shards and reads them back, and
``pairs_info`` describes what a directory of shards holds.
"""

import tensorflow as tf

from kerapre.data.pair_maker import PairMaker
from kerapre.data.vocab import make_tokenizer
from kerapre.errors import ConfigError

# "[CLS] A [SEP] B [SEP]": three special tokens and at least one token each in A and B.
_MIN_SEQ_LENGTH = 5


def create_pairs(
    documents,
    tokenizer_or_vocab,
    *,
    seq_length=128,
    short_seq_prob=0.1,
    dupe_factor=1,
    seed=0,
):
    """Yields BERT next-sentence pairs made from documents, as Google's BERT data script does.

    Each document's sentences are tokenised in one batched call (a chunk of documents
    at a time); sentences with no token are dropped and documents left with fewer than 2
    sentences are skipped.

    Args:
        documents: an iterable of documents, each a list of sentences (``str``), e.g.
            ``iter_documents(corpus)``. At least 2 documents.
        tokenizer_or_vocab: a keras-hub ``WordPieceTokenizer`` without
            ``sequence_length`` (e.g. ``make_tokenizer(vocab)``), or a vocabulary (list
            of tokens or path of a ``vocab.txt``). ``[CLS]``, ``[SEP]`` and ``[PAD]`` keep
            their ids from the vocabulary.
        seq_length: the length of every pair, padding included; at least 5.
        short_seq_prob: the probability that a document aims at a random length in
            ``[2, seq_length - 3]`` instead of the full length, so that the model also
            sees short inputs.
        dupe_factor: how many times each chunk of documents is read, with new random
            cuts each time.
        seed: the pairs depend only on it and on the documents.

    Yields:
        ``{"token_ids": int32 [seq_length], "segment_ids": int32 [seq_length],
        "padding_mask": bool [seq_length], "next_sentence_label": int32}``:
        ``[CLS] A [SEP] B [SEP]`` then ``[PAD]``; segment 0 for ``[CLS]``, A and the
        first ``[SEP]``, 1 for B and the last ``[SEP]``, 0 for padding; label 0 if B is
        the text that follows A, 1 if B comes from another document.

    Raises:
        DataError: if fewer than 2 documents have 2 or more sentences.
        ConfigError: if an argument is out of range.

    Examples:

    ```python
    pairs = create_pairs(iter_documents("wiki_sample", "test"), "vocab.txt", seq_length=128)
    pair = next(pairs)
    pair["token_ids"].shape, pair["next_sentence_label"]  # (128,), 0
    ```
    """
    check_pair_arguments(seq_length, short_seq_prob, dupe_factor)
    maker = PairMaker(_tokenizer(tokenizer_or_vocab), seq_length, short_seq_prob, seed)
    return maker.pairs(documents, dupe_factor)


def pairs_dataset(
    documents,
    vocab,
    *,
    seq_length=128,
    short_seq_prob=0.1,
    dupe_factor=1,
    seed=0,
):
    """Returns the pairs of a small in-memory corpus as a ``tf.data.Dataset``.

    The pairs are made anew (the same ones: same ``seed``) at every pass over the
    dataset; for a large corpus write them once with ``write_pretraining_records``.

    Args:
        documents: documents (lists of sentences); read into a list once.
        vocab: a vocabulary, a ``vocab.txt`` path or a tokenizer, as for ``create_pairs``.
        seq_length, short_seq_prob, dupe_factor, seed: as for ``create_pairs``.

    Returns:
        A ``tf.data.Dataset`` of the dicts ``create_pairs`` yields.

    Examples:

    ```python
    ds = pairs_dataset([["A b.", "C d."], ["E f.", "G h."]], "vocab.txt", seq_length=32)
    ds.element_spec["token_ids"]  # TensorSpec(shape=(32,), dtype=tf.int32)
    ```
    """
    check_pair_arguments(seq_length, short_seq_prob, dupe_factor)
    documents = [list(document) for document in documents]
    tokenizer = _tokenizer(vocab)

    def generate():
        return create_pairs(
            documents,
            tokenizer,
            seq_length=seq_length,
            short_seq_prob=short_seq_prob,
            dupe_factor=dupe_factor,
            seed=seed,
        )

    return tf.data.Dataset.from_generator(generate, output_signature=pair_signature(seq_length))


def pair_signature(seq_length):
    """Returns the ``tf.TensorSpec`` dict of one pair of length ``seq_length``.

    Examples:

    ```python
    pair_signature(128)["padding_mask"]  # TensorSpec(shape=(128,), dtype=tf.bool)
    ```
    """
    return {
        "token_ids": tf.TensorSpec([seq_length], tf.int32),
        "segment_ids": tf.TensorSpec([seq_length], tf.int32),
        "padding_mask": tf.TensorSpec([seq_length], tf.bool),
        "next_sentence_label": tf.TensorSpec([], tf.int32),
    }


def _tokenizer(tokenizer_or_vocab):
    if hasattr(tokenizer_or_vocab, "tokenize") and hasattr(tokenizer_or_vocab, "token_to_id"):
        if getattr(tokenizer_or_vocab, "sequence_length", None):
            raise ConfigError(
                "create_pairs needs a tokenizer without sequence_length (ragged output): "
                "use make_tokenizer(vocab)"
            )
        return tokenizer_or_vocab
    return make_tokenizer(tokenizer_or_vocab)


def check_pair_arguments(seq_length, short_seq_prob, dupe_factor):
    """Raises ConfigError unless the pair-making arguments are in range."""
    if seq_length < _MIN_SEQ_LENGTH:
        raise ConfigError(
            f"seq_length must be at least {_MIN_SEQ_LENGTH} ([CLS] A [SEP] B [SEP]), "
            f"got {seq_length}"
        )
    if not 0 <= short_seq_prob <= 1:
        raise ConfigError(f"short_seq_prob must be in [0, 1], got {short_seq_prob}")
    if dupe_factor < 1:
        raise ConfigError(f"dupe_factor must be at least 1, got {dupe_factor}")
