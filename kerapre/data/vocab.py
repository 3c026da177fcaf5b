"""WordPiece vocabularies for BERT: learn one from a corpus, load, check and tokenise with it.

A kerapre vocabulary is a ``vocab.txt`` file, one token per line, the line number being
the token id, with the special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` at ids 0-4
(vocabularies from elsewhere, e.g. Google's BERT ``vocab.txt``, load too as long as they
hold the special tokens). It is learned with the HuggingFace ``tokenizers`` WordPiece
trainer and used through keras-hub's ``WordPieceTokenizer``.
"""

import collections
import hashlib
import os
import tempfile

import keras_hub
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from kerapre.data.corpus import iter_documents
from kerapre.errors import DataError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = SPECIAL_TOKENS
VOCAB_FILENAME = "vocab.txt"
SUBWORD_PREFIX = "##"
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


def load_vocabulary(path):
    """Reads and checks a ``vocab.txt``: one token per line, the line index being its id.

    Args:
        path: the file, or a directory holding ``vocab.txt``.

    Returns:
        The vocabulary, a list of tokens.

    Raises:
        DataError: if the file is missing or not UTF-8, has an empty line, a token twice,
            or lacks any of ``[PAD] [UNK] [CLS] [SEP] [MASK]``.

    Examples:

    ```python
    vocab = load_vocabulary("runs/bert/vocab.txt")
    vocab.index("[CLS]")  # 2
    ```
    """
    path = _vocab_file(path)
    if not os.path.isfile(path):
        raise DataError(
            f"vocabulary {path} not found: learn one with learn_vocabulary(corpus, "
            "output_path=...) or give the path of a vocab.txt"
        )
    try:
        with open(path, encoding="utf-8") as f:
            vocab = [line.rstrip("\r\n") for line in f]
    except UnicodeDecodeError as error:
        raise DataError(
            f"vocabulary {path} is not UTF-8 (byte {error.start}): re-create it with "
            "learn_vocabulary"
        ) from None
    check_vocabulary_tokens(vocab, path)
    return vocab


def check_vocabulary_tokens(vocab, name="vocabulary"):
    """Checks that a vocabulary has no empty or duplicate token and all special tokens.

    Args:
        vocab: a list of tokens.
        name: how to name the vocabulary in error messages (e.g. its path).

    Raises:
        DataError: naming the first problem found.

    Examples:

    ```python
    check_vocabulary_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"])
    ```
    """
    if not vocab:
        raise DataError(f"{name} is empty: learn a vocabulary with learn_vocabulary")
    seen = {}
    for index, token in enumerate(vocab):
        if not token or token != token.strip():
            raise DataError(
                f"{name} has an empty or blank-padded token at line {index + 1}: "
                "one token per line, no spaces around it"
            )
        if token in seen:
            raise DataError(
                f"{name} has the token {token!r} twice (lines {seen[token] + 1} and "
                f"{index + 1}): remove the duplicate or learn the vocabulary again"
            )
        seen[token] = index
    missing = [token for token in SPECIAL_TOKENS if token not in seen]
    if missing:
        raise DataError(
            f"{name} lacks the special tokens {' '.join(missing)}: BERT needs "
            f"{' '.join(SPECIAL_TOKENS)}; learn the vocabulary with learn_vocabulary"
        )


def vocabulary_hash(vocab):
    """Returns the sha256 (hex) of a vocabulary, to tell vocabularies apart later.

    Args:
        vocab: a list of tokens, or the path of a ``vocab.txt`` (or its directory).

    Examples:

    ```python
    vocabulary_hash(load_vocabulary("vocab.txt")) == vocabulary_hash("vocab.txt")  # True
    ```
    """
    if isinstance(vocab, (str, os.PathLike)):
        vocab = load_vocabulary(vocab)
    return hashlib.sha256("\n".join(vocab).encode("utf-8")).hexdigest()


def make_tokenizer(vocab, sequence_length=None, *, lowercase=True):
    """Returns a keras-hub WordPiece tokenizer for a vocabulary, normalising like BERT.

    It lower-cases, strips accents and splits on whitespace, punctuation and CJK
    characters like the ``tokenizers`` normaliser that ``learn_vocabulary`` trains with
    (``make_hf_tokenizer``). They split 99.8% of wiki_sample's sentences the same way;
    the rest differ because keras-hub case-folds with NFKC (``ς`` becomes ``σ``, ``²``
    becomes ``2``, ``½`` becomes ``1⁄2``, ``ß`` becomes ``ss``), keeps words whole
    across non-ASCII spaces (``iter_documents`` turns those into plain spaces) and
    splits, where ``tokenizers`` deletes, format characters such as soft hyphens and
    zero-width spaces. Unknown words become ``[UNK]``.

    Args:
        vocab: a list of tokens or the path of a ``vocab.txt`` (or its directory); it
            is checked as by ``load_vocabulary``.
        sequence_length: if set, the tokenizer pads or cuts its output to this length
            (with id 0); if None, a batch of strings gives ragged token ids.
        lowercase: True for an uncased vocabulary (also strips accents).

    Returns:
        A ``keras_hub.models.BertTokenizer`` (a ``keras_hub.tokenizers.WordPieceTokenizer``
        with ``cls_token_id``, ``sep_token_id``, ``pad_token_id`` and ``mask_token_id``)
        giving int32 ids.

    Raises:
        DataError: as for ``load_vocabulary``.

    Examples:

    ```python
    tokenizer = make_tokenizer("runs/bert/vocab.txt")
    tokenizer(["The quick brown fox."])  # ragged int32 ids
    ```
    """
    if isinstance(vocab, (str, os.PathLike)):
        vocab = load_vocabulary(vocab)
    else:
        vocab = list(vocab)
        check_vocabulary_tokens(vocab)
    # BertTokenizer is a WordPieceTokenizer that also knows its special tokens
    # (`cls_token_id`, `pad_token_id`, ...), as keras-hub's BERT preprocessors expect.
    return keras_hub.models.BertTokenizer(
        vocabulary=vocab,
        sequence_length=sequence_length,
        lowercase=lowercase,
        strip_accents=lowercase,
        split=True,
        split_on_cjk=True,
        suffix_indicator=SUBWORD_PREFIX,
        oov_token=UNK,
        dtype="int32",
    )


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


def _vocab_file(path):
    path = os.fspath(path)
    return os.path.join(path, VOCAB_FILENAME) if os.path.isdir(path) else path


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


def write_vocabulary(vocab, path):
    """Writes a vocabulary to ``path`` atomically (a temporary file, then a rename).

    Args:
        vocab: a list of tokens.
        path: the ``vocab.txt`` to write; its directory must exist.

    Examples:

    ```python
    write_vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"], "vocab.txt")
    ```
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".vocab-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(f"{token}\n" for token in vocab))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
