"""Learning a WordPiece vocabulary from a corpus, and the HuggingFace tokenizer it trains.

``learn_vocabulary`` trains the HuggingFace ``tokenizers`` WordPiece trainer with BERT's
normalisation; ``learn_vocabulary_keras_hub`` runs keras-hub's TensorFlow Text learner
instead, to compare the two. Both write a ``vocab.txt`` (``kerapre.data.vocab``).
"""

import collections
import os

import keras_hub
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from kerapre.data.corpus import iter_documents
from kerapre.data.vocab import (
    SPECIAL_TOKENS,
    SUBWORD_PREFIX,
    UNK,
    VOCAB_FILENAME,
    load_vocabulary,
    write_vocabulary,
)
from kerapre.errors import DataError

# The `tokenizers` trainer keeps this many distinct characters at most, as Google's and
# HuggingFace's BERT vocabularies do; rarer characters become [UNK].
ALPHABET_LIMIT = 1000


def learn_vocabulary(
    corpus,
    vocab_size=8192,
    *,
    split="train",
    lowercase=True,
    strip_accents=None,
    output_path=None,
    min_frequency=2,
    show_progress=True,
    text_key="text",
    data_dir=None,
):
    """Learns a WordPiece vocabulary from a corpus with the HuggingFace ``tokenizers`` trainer.

    Text is normalised as BERT does (``BertNormalizer``: control characters removed,
    CJK characters spaced, accents stripped and lower-cased for an uncased vocabulary),
    split on whitespace and punctuation (``BertPreTokenizer``), and word continuations
    are marked ``##``. The special tokens come first, at ids 0-4.

    Args:
        corpus: anything ``iter_documents`` reads (a TFDS name such as
            ``"wiki_sample"``, a text file, directory, glob, or a list of paths or
            ``pathlib.Path``), or any other iterable of sentences (``str``) or of
            documents (lists of sentences), e.g. an ``iter_documents`` result. A list of
            plain strings is read as sentences unless every item is an existing path.
        vocab_size: the largest vocabulary to learn, special tokens included; a small
            corpus may give fewer tokens.
        split: the TFDS split, for a TFDS corpus.
        lowercase: learn an uncased vocabulary (BERT "uncased").
        strip_accents: remove accents; defaults to ``lowercase``, as in BERT.
        output_path: if given, write the vocabulary there atomically: a directory (made
            if needed) gets a ``vocab.txt``; a path ending in ``.txt`` is used as is.
        min_frequency: how often a pair of pieces must occur to be merged.
        show_progress: show the trainer's progress bars.
        text_key: the text feature of a TFDS corpus, as for ``iter_documents``.
        data_dir: where TFDS sets are prepared, as for ``iter_documents``.

    Returns:
        The path of the written ``vocab.txt`` if ``output_path`` is given, else the
        vocabulary as a list of tokens (the index is the id).

    Raises:
        DataError: as for ``iter_documents``, or if the corpus holds no text.

    Examples:

    ```python
    path = learn_vocabulary("wiki_sample", 8192, output_path="runs/bert/")
    tokenizer = make_tokenizer(path)
    ```
    """
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
    _set_bert_normalisation(tokenizer, lowercase, strip_accents)
    read = _rereadable(corpus, split, text_key, data_dir)
    alphabet, continuations = _alphabet(tokenizer, read())
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        show_progress=show_progress,
        # The trainer numbers "##x" tokens in hash-map order, which changes from run to
        # run and with it how ties between merges are broken (huggingface/tokenizers#1794).
        # Numbered up front, in sorted order, they make the vocabulary reproducible.
        special_tokens=list(SPECIAL_TOKENS) + continuations,
        initial_alphabet=alphabet,
        limit_alphabet=len(alphabet),
        continuing_subword_prefix=SUBWORD_PREFIX,
    )
    tokenizer.train_from_iterator(read(), trainer=trainer)
    ids = tokenizer.get_vocab()
    vocab = sorted(ids, key=ids.get)
    return _finish(vocab, output_path)


def learn_vocabulary_keras_hub(
    corpus,
    vocab_size=8192,
    *,
    split="train",
    lowercase=True,
    output_path=None,
    text_key="text",
    data_dir=None,
):
    """Learns a WordPiece vocabulary with keras-hub's ``compute_word_piece_vocabulary``.

    The TensorFlow Text learner behind it, with the same special tokens at ids 0-4 and
    the same normalisation as ``make_tokenizer``. Slower than ``learn_vocabulary`` (see
    ``benchmarks/vocab_learning.py``); kept to compare the two.

    Args:
        corpus, vocab_size, split, lowercase, output_path, text_key, data_dir: as for
            ``learn_vocabulary``.

    Returns:
        As for ``learn_vocabulary``.

    Raises:
        DataError: as for ``learn_vocabulary``.

    Examples:

    ```python
    vocab = learn_vocabulary_keras_hub("wiki_sample", 8192)
    vocab[:5]  # ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    ```
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_generator(
        _rereadable(corpus, split, text_key, data_dir),
        output_signature=tf.TensorSpec([None], tf.string),
    )
    vocab = keras_hub.tokenizers.compute_word_piece_vocabulary(
        ds,
        vocab_size,
        lowercase=lowercase,
        strip_accents=lowercase,
        split=True,
        split_on_cjk=True,
        suffix_indicator=SUBWORD_PREFIX,
        reserved_tokens=list(SPECIAL_TOKENS),
    )
    return _finish(vocab, output_path)


def make_hf_tokenizer(vocab, *, lowercase=True):
    """Returns the HuggingFace ``tokenizers.Tokenizer`` that ``learn_vocabulary`` trains.

    For checks: it shows how the vocabulary was meant to split text, to compare with
    ``make_tokenizer``.

    Args:
        vocab: a list of tokens or the path of a ``vocab.txt``.
        lowercase: as for ``make_tokenizer``.

    Examples:

    ```python
    make_hf_tokenizer("vocab.txt").encode("The fox.", add_special_tokens=False).ids
    ```
    """
    if isinstance(vocab, (str, os.PathLike)):
        vocab = load_vocabulary(vocab)
    tokenizer = Tokenizer(
        models.WordPiece(
            {token: i for i, token in enumerate(vocab)},
            unk_token=UNK,
            max_input_chars_per_word=100,
        )
    )
    _set_bert_normalisation(tokenizer, lowercase, None)
    return tokenizer


def _set_bert_normalisation(tokenizer, lowercase, strip_accents):
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=True,
        strip_accents=lowercase if strip_accents is None else strip_accents,
        lowercase=lowercase,
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()


def _rereadable(corpus, split, text_key, data_dir):
    """Returns a function that starts a new pass over the corpus, as lists of sentences.

    Corpora named by TFDS name or path are read again from disk; a one-shot iterator
    is read into memory first.
    """
    if isinstance(corpus, (str, os.PathLike)) or (
        isinstance(corpus, (list, tuple)) and corpus and all(_names_path(c) for c in corpus)
    ):
        return lambda: _sentence_batches(
            iter_documents(corpus, split, text_key=text_key, data_dir=data_dir)
        )
    if not isinstance(corpus, (list, tuple)):
        corpus = list(corpus)
    return lambda: _sentence_batches(corpus)


def _sentence_batches(documents):
    """Yields lists of sentences (one per document) from documents or single sentences."""
    found = False
    for document in documents:
        batch = [document] if isinstance(document, str) else list(document)
        if batch:
            found = True
            yield batch
    if not found:
        raise DataError("no text to learn a vocabulary from: give a non-empty corpus")


def _alphabet(tokenizer, batches):
    """Returns the ``ALPHABET_LIMIT`` most frequent characters of the normalised words
    (ties broken by character) and the ``##c`` tokens of those that continue a word."""
    counts, continuing = collections.Counter(), set()
    normalize = tokenizer.normalizer.normalize_str
    pre_tokenize = tokenizer.pre_tokenizer.pre_tokenize_str
    for batch in batches:
        words = [word for word, _ in pre_tokenize(normalize("\n".join(batch)))]
        counts.update("".join(words))
        continuing.update("".join(word[1:] for word in words))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    alphabet = sorted(char for char, _ in ranked[:ALPHABET_LIMIT])
    continuations = [SUBWORD_PREFIX + char for char in alphabet if char in continuing]
    return alphabet, continuations


def _names_path(item):
    return isinstance(item, os.PathLike) or (isinstance(item, str) and os.path.exists(item))


def _finish(vocab, output_path):
    if output_path is None:
        return vocab
    path = os.fspath(output_path)
    if not path.endswith(".txt"):
        os.makedirs(path, exist_ok=True)
        path = os.path.join(path, VOCAB_FILENAME)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_vocabulary(vocab, path)
    return path
