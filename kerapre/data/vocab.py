"""WordPiece vocabularies for BERT: load, check, hash, write and tokenise with one.

A kerapre vocabulary is a ``vocab.txt`` file, one token per line, the line number being
the token id, with the special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` at ids 0-4
(vocabularies from elsewhere, e.g. Google's BERT ``vocab.txt``, load too as long as they
hold the special tokens). It is learned with the HuggingFace ``tokenizers`` WordPiece
trainer (``kerapre.data.vocab_learning``) and used through keras-hub's
``WordPieceTokenizer``.
"""

import hashlib
import os
import tempfile

import keras_hub

from kerapre.errors import DataError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = SPECIAL_TOKENS
VOCAB_FILENAME = "vocab.txt"
SUBWORD_PREFIX = "##"


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


def make_tokenizer(vocab, sequence_length=None, *, lowercase=True, strip_accents=None):
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
        lowercase: True for an uncased vocabulary.
        strip_accents: remove accents (``None``: as ``lowercase``, BERT's rule; Hugging
            Face's ``strip_accents`` in ``tokenizer_config.json`` can say otherwise).

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
        strip_accents=lowercase if strip_accents is None else strip_accents,
        split=True,
        split_on_cjk=True,
        suffix_indicator=SUBWORD_PREFIX,
        oov_token=UNK,
        dtype="int32",
    )


def _vocab_file(path):
    path = os.fspath(path)
    return os.path.join(path, VOCAB_FILENAME) if os.path.isdir(path) else path


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
