"""Text corpora for BERT pretraining: stream documents as lists of sentences.

A corpus is a local TFDS set (``wiki_sample``), any TFDS set with a text feature, plain
text files in the standard BERT pretraining format (one sentence per line and a blank line
between documents), or JSON Lines files (``.jsonl``: one document per line, its
``text_key`` field split into sentences); any of these files may be compressed
(``.gz``, ``.bz2``). Every source streams through ``iter_documents`` the same
way, one document at a time, so a corpus never has to fit in memory.
"""

import bz2
import dataclasses
import glob
import gzip
import json
import os
import re
import zlib

import tensorflow_datasets as tfds

from kerapre.data.builders.lee_news import LeeNews
from kerapre.data.builders.wiki_sample import WikiSample
from kerapre.data.images import default_data_dir
from kerapre.data.sentence_splitting import split_sentences
from kerapre.data.splits import prepare_builder, read_split
from kerapre.data.user_cache import file_fingerprint
from kerapre.errors import DataError

_TFDS_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:/[\w.\-]+)?(?::[\w.*]+)?$")
_GLOB_CHARS = re.compile(r"[*?\[]")
_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open}


@dataclasses.dataclass
class CorpusStats:
    """Counts of what a pass over a corpus yielded and skipped.

    Args:
        documents: documents yielded (each has at least 2 sentences).
        sentences: sentences in the yielded documents.
        skipped_documents: documents with fewer than 2 sentences, skipped because no
            next-sentence pair can be made from them.

    Examples:

    ```python
    stats = scan_corpus("corpus.txt")
    stats.documents, stats.sentences, stats.skipped_documents  # (120, 2400, 3)
    ```
    """

    documents: int = 0
    sentences: int = 0
    skipped_documents: int = 0

    def as_dict(self):
        """Returns the counts as a plain dict (for JSON)."""
        return dataclasses.asdict(self)


class DocumentIterator:
    """Iterates over a corpus' documents, counting them in ``stats`` as it goes.

    Made by ``iter_documents``; ``stats`` is final once the iteration ends.

    Examples:

    ```python
    documents = iter_documents("corpus.txt")
    for sentences in documents:
        ...
    documents.stats.skipped_documents  # 3
    ```
    """

    def __init__(self, name, raw_documents):
        self.name = name
        self.stats = CorpusStats()
        self._raw = raw_documents
        self._documents = self._count()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._documents)

    def _count(self):
        stats = self.stats
        for sentences in self._raw:
            if len(sentences) < 2:
                stats.skipped_documents += 1
                continue
            stats.documents += 1
            stats.sentences += len(sentences)
            yield sentences
        if stats.documents == 0:
            if stats.skipped_documents:
                raise DataError(
                    f"corpus {self.name} has no document of 2 or more sentences "
                    f"({stats.skipped_documents} shorter ones skipped): write one sentence "
                    "per line and a blank line between documents"
                )
            raise DataError(
                f"corpus {self.name} is empty: give files with one sentence per line and "
                "a blank line between documents"
            )


def iter_documents(corpus, split="train", *, text_key="text", data_dir=None):
    """Streams a corpus as documents, each a list of sentences, never loading it whole.

    Documents with fewer than 2 sentences are skipped (no next-sentence pair can be made
    from them) and counted in the returned iterator's ``stats``.

    Args:
        corpus: one of
            - ``"wiki_sample"``: 104 Wikipedia articles shipped with gensim (see
              ``kerapre.data.builders.wiki_sample``), prepared into ``data_dir`` on
              first use;
            - any other TFDS name (``"wikipedia/20230601.en"``, ``"imdb_reviews"``):
              each example's ``text_key`` feature is a document, its lines are
              paragraphs and ``split_sentences`` splits them;
            - a text file in the BERT pretraining format: one sentence per line, a
              blank line between documents (a file's end also ends a document);
            - a JSON Lines file (``.jsonl``): one JSON object per line, one document,
              whose ``text_key`` field is split into sentences like a TFDS set's;
            - either compressed: ``.txt.gz``, ``.txt.bz2``, ``.jsonl.gz``, ...;
            - a directory (its files, in name order, hidden files excluded) or a glob
              (``"shards/*.txt"``) of such files;
            - a list of such paths, read in order.
        split: the TFDS split, in TFDS syntax (``"train"``, ``"train[:10%]"``); ignored
            for files.
        text_key: the TFDS feature, or the JSON Lines field, that holds the text; ignored
            for text files and ``wiki_sample``.
        data_dir: where TFDS sets are prepared; defaults to ``default_data_dir()`` for
            ``wiki_sample`` and to TFDS's own default for other sets.

    Returns:
        A ``DocumentIterator`` of ``list[str]``, with ``stats`` (a ``CorpusStats``).

    Raises:
        DataError: now if no file matches, the TFDS set is unknown, has no such split or
            no ``text_key``; while iterating if a file is not UTF-8, a JSON Lines line is
            not a JSON object with ``text_key`` (naming the file and line), or the corpus
            has no document of 2 or more sentences.

    Examples:

    ```python
    for sentences in iter_documents("wiki_sample", "test"):
        print(len(sentences), sentences[0])
    ```
    """
    if isinstance(corpus, (list, tuple)):
        paths = [path for item in corpus for path in _resolve_paths(os.fspath(item))]
        return DocumentIterator(_describe(corpus), _file_documents(paths, text_key))
    corpus = os.fspath(corpus)
    if _is_path_like(corpus):
        return DocumentIterator(corpus, _file_documents(_resolve_paths(corpus), text_key))
    return DocumentIterator(
        f"{corpus}[{split}]", _tfds_documents(corpus, split, text_key, data_dir)
    )


def scan_corpus(corpus, split="train", *, text_key="text", data_dir=None):
    """Reads a whole corpus once and returns its ``CorpusStats``.

    Args:
        corpus, split, text_key, data_dir: as for ``iter_documents``.

    Raises:
        DataError: as for ``iter_documents``.

    Examples:

    ```python
    scan_corpus("wiki_sample", "train").documents  # 94
    ```
    """
    documents = iter_documents(corpus, split, text_key=text_key, data_dir=data_dir)
    for _ in documents:
        pass
    return documents.stats


def corpus_size_hint(corpus, split="train", *, data_dir=None):
    """Returns the number of examples in a prepared TFDS corpus split, or None if unknown.

    Cheap: reads only TFDS metadata, never prepares a set. Used for progress bars; the
    count includes documents that ``iter_documents`` will skip.

    Examples:

    ```python
    corpus_size_hint("wiki_sample", "test")  # 10
    ```
    """
    if isinstance(corpus, (list, tuple)) or _is_path_like(os.fspath(corpus)):
        return None
    try:
        builder = _tfds_builder(os.fspath(corpus), data_dir)
        if not builder.is_prepared():
            return None
        return builder.info.splits[split].num_examples
    except (DataError, KeyError, ValueError):
        return None


def corpus_fingerprint(corpus, text_key="text"):
    """A digest of a file corpus' paths, sizes and modification times (and ``text_key``), so
    that what was made from it (pairs, a vocabulary) is made again when a file changes;
    ``None`` for a TFDS set (its version names its contents).

    Examples:

    ```python
    corpus_fingerprint("my_docs/")  # "5be1..."; another after any file in my_docs/ changes
    corpus_fingerprint("wiki_sample")  # None
    ```
    """
    if not is_path_like(corpus):
        return None
    items = corpus if isinstance(corpus, (list, tuple)) else [corpus]
    paths = [path for item in items for path in _resolve_paths(os.fspath(item))]
    return file_fingerprint(paths, text_key=text_key)


def _describe(paths):
    names = [os.fspath(p) for p in paths]
    return names[0] if len(names) == 1 else f"[{names[0]}, ... {len(names)} paths]"


def is_path_like(corpus):
    """True if ``corpus`` names files (a path, glob, directory or list), False if it names a TFDS set."""
    if isinstance(corpus, (list, tuple)):
        return True
    return _is_path_like(os.fspath(corpus))


def _is_path_like(corpus):
    """True if ``corpus`` names files, False if it names a TFDS set."""
    if os.path.exists(corpus) or _GLOB_CHARS.search(corpus):
        return True
    return not _TFDS_NAME.match(corpus)


def _resolve_paths(corpus):
    if os.path.isfile(corpus):
        return [corpus]
    if os.path.isdir(corpus):
        paths = sorted(
            os.path.join(corpus, name)
            for name in os.listdir(corpus)
            if not name.startswith(".") and os.path.isfile(os.path.join(corpus, name))
        )
        if not paths:
            raise DataError(f"corpus directory {corpus} has no files: add text files to it")
        return paths
    if _GLOB_CHARS.search(corpus):
        paths = sorted(p for p in glob.glob(corpus) if os.path.isfile(p))
        if not paths:
            raise DataError(f"no file matches the corpus pattern {corpus}: check the path")
        return paths
    raise DataError(
        f"corpus {corpus} is neither a file, a directory, a glob nor a TFDS data set: "
        "check the path or the name"
    )


def _file_documents(paths, text_key="text"):
    for path in paths:
        if _plain_suffix(path) == ".jsonl":
            yield from _jsonl_documents(path, text_key)
            continue
        sentences = []
        for line in _utf8_lines(path):
            # Any Unicode space (no-break, line separator...) becomes " ": keras-hub's
            # tokenizer splits words on ASCII whitespace only.
            line = " ".join(line.split())
            if line:
                sentences.append(line)
            elif sentences:
                yield sentences
                sentences = []
        if sentences:
            yield sentences


def _plain_suffix(path):
    """The suffix of ``path`` once a compression suffix is taken off: ``a.jsonl.gz`` -> ``.jsonl``."""
    stem, suffix = os.path.splitext(path)
    if suffix.lower() in _COMPRESSED:
        suffix = os.path.splitext(stem)[1]
    return suffix.lower()


def _jsonl_documents(path, text_key):
    for number, line in enumerate(_utf8_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path} line {number} is not JSON ({error.msg}): write one JSON object per line") from None
        if not isinstance(record, dict) or text_key not in record:
            fields = ", ".join(record) if isinstance(record, dict) else "none: not an object"
            raise DataError(f"{path} line {number} has no field {text_key!r} (fields: {fields}): set data.text_key")
        text = record[text_key] if isinstance(record[text_key], str) else ""  # null: an empty document
        yield [s for paragraph in text.split("\n") for s in split_sentences(paragraph)]


def _utf8_lines(path):
    offset = 0
    with _COMPRESSED.get(os.path.splitext(path)[1].lower(), open)(path, "rb") as f:
        for number, raw in _compressed_safe(path, f):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{path} is not UTF-8 text (line {number}, byte {offset + error.start}): "
                    "convert it, e.g. with iconv -t UTF-8, or leave it out of the corpus"
                ) from None
            if number == 1:
                line = line.removeprefix("\ufeff")
            offset += len(raw)
            yield line


def _compressed_safe(path, f):
    """``enumerate(f, 1)``, with a damaged ``.gz`` or ``.bz2`` stream named in one line."""
    try:
        yield from enumerate(f, start=1)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path} cannot be decompressed ({error}): check the file or leave it out") from None


def _local_text_builders():
    return {WikiSample.name: WikiSample, LeeNews.name: LeeNews}


def _tfds_builder(name, data_dir):
    local = _local_text_builders()
    if name in local:
        return local[name](data_dir=data_dir or default_data_dir())
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        raise DataError(
            f"corpus {name} is neither a file, a directory, a glob nor a TFDS data set: "
            "check the path, or use a name from tfds.list_builders() or wiki_sample"
        ) from None


def _tfds_documents(name, split, text_key, data_dir):
    builder = _tfds_builder(name, data_dir)
    local = name in _local_text_builders()
    if not local and text_key not in builder.info.features:
        raise DataError(
            f"{name} has no feature {text_key!r}: pass text_key= one of "
            f"{sorted(builder.info.features)}"
        )
    prepare_builder(builder, local)
    ds = read_split(builder, name, split)
    return _example_documents(tfds.as_numpy(ds), "text" if local else text_key, local)


def _example_documents(examples, text_key, one_sentence_per_line):
    # The generator is created first so that DataErrors above are raised by the call,
    # not on the first next().
    def documents():
        for example in examples:
            text = example[text_key]
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            if one_sentence_per_line:
                yield [line.strip() for line in text.split("\n") if line.strip()]
            else:
                yield [s for paragraph in text.split("\n") for s in split_sentences(paragraph)]

    return documents()
