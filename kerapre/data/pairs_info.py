"""``pairs.json``: what a directory of next-sentence pairs holds, and its vocabulary check.

``write_pretraining_records`` (``kerapre.data.pair_records``) stores a ``PairsInfo``
beside the shards; ``load_pairs_info`` reads it back and ``check_vocabulary`` tells
whether pairs were made with a given vocabulary.
"""

import dataclasses
import json
import os
import typing

from kerapre.data.vocab import vocabulary_hash
from kerapre.errors import DataError

PAIRS_INFO_FILE = "pairs.json"
FORMAT = "kerapre.pretraining_pairs/1"


@dataclasses.dataclass(frozen=True)
class PairsInfo:
    """What ``write_pretraining_records`` wrote; stored as ``pairs.json`` beside the shards.

    Args:
        output_dir: the directory of the shards.
        files: the shard file names, relative to ``output_dir``.
        seq_length: the length of every pair, padding included.
        count: the number of pairs.
        positive_fraction: the share of pairs whose B really follows A (label 0).
        vocab_hash: ``vocabulary_hash`` of the vocabulary the pairs were made with.
        vocabulary_size: its number of tokens.
        pad_id, cls_id, sep_id: the ids of ``[PAD]``, ``[CLS]``, ``[SEP]``.
        corpus: the corpus, as given.
        split: its split.
        stats: the ``CorpusStats`` of the pass, as a dict.
        dupe_factor, short_seq_prob, seed: the arguments the pairs were made with.
        lowercase: whether the text was lower-cased before WordPiece (pairs written before
            kerapre recorded it were).
        strip_accents: whether accents were stripped, where that differs from ``lowercase``
            (``None``: as ``lowercase``).
        corpus_fingerprint: ``kerapre.data.corpus.corpus_fingerprint`` of a file corpus when
            the pairs were made (its files' sizes and times; ``None`` for a TFDS set, and
            for pairs written before kerapre recorded it).

    Examples:

    ```python
    info = load_pairs_info("runs/bert/pairs")
    info.count, info.seq_length, info.positive_fraction  # 5551, 128, 0.4583
    ```
    """

    output_dir: str
    files: tuple
    seq_length: int
    count: int
    positive_fraction: float
    vocab_hash: str
    vocabulary_size: int
    pad_id: int
    cls_id: int
    sep_id: int
    corpus: str
    split: str
    stats: dict
    dupe_factor: int
    short_seq_prob: float
    seed: int
    lowercase: bool = True
    strip_accents: typing.Optional[bool] = None
    corpus_fingerprint: typing.Optional[str] = None

    @property
    def stripped_accents(self):
        """Whether accents were stripped (``strip_accents``, else as ``lowercase``)."""
        return self.lowercase if self.strip_accents is None else self.strip_accents

    @property
    def paths(self):
        """The shard paths."""
        return [os.path.join(self.output_dir, name) for name in self.files]


def load_pairs_info(path):
    """Reads the ``pairs.json`` of a directory written by ``write_pretraining_records``.

    Args:
        path: the directory, or one of its shard files.

    Raises:
        DataError: if there is no readable ``pairs.json``.

    Examples:

    ```python
    load_pairs_info("runs/bert/pairs").count  # 5551
    ```
    """
    path = os.fspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    info_path = os.path.join(folder, PAIRS_INFO_FILE)
    try:
        with open(info_path, encoding="utf-8") as f:
            record = json.load(f)
    except FileNotFoundError:
        raise DataError(
            f"no {PAIRS_INFO_FILE} in {folder}: give a directory written by "
            "write_pretraining_records (kerapre prepare)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(f"{info_path} is damaged: write the pairs again") from None
    if record.pop("format", None) != FORMAT:
        raise DataError(f"{info_path} is not a kerapre pairs file: write the pairs again")
    record["files"] = tuple(record["files"])
    return PairsInfo(output_dir=os.path.abspath(folder), **record)


def check_vocabulary(pairs_dir, vocab):
    """Checks that pairs were made with this vocabulary (by ``vocabulary_hash``).

    Args:
        pairs_dir: a directory written by ``write_pretraining_records``.
        vocab: a list of tokens or the path of a ``vocab.txt``.

    Raises:
        DataError: if the vocabularies differ.

    Examples:

    ```python
    check_vocabulary("runs/bert/pairs", "runs/bert/vocab.txt")
    ```
    """
    if vocabulary_hash(vocab) != load_pairs_info(pairs_dir).vocab_hash:
        raise DataError(
            "pairs were made with another vocabulary: re-run prepare with this vocab.txt"
        )


def write_pairs_info(info, folder):
    """Writes ``info`` as ``folder``'s ``pairs.json`` (``PAIRS_INFO_FILE``)."""
    record = {"format": FORMAT, **dataclasses.asdict(info)}
    del record["output_dir"]  # The directory may move; its files are found beside this one.
    with open(os.path.join(folder, PAIRS_INFO_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
