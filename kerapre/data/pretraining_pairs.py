"""BERT next-sentence pairs: ``[CLS] A [SEP] B [SEP]`` from a corpus of documents.

The pairs follow Google's ``create_pretraining_data.py``: sentences of a document are
gathered into a chunk of about ``seq_length - 3`` tokens (shorter with probability
``short_seq_prob``), the chunk is cut at a random sentence boundary into A and B, and
half of the time B is replaced by a span of sentences from another document (the
unused sentences go back to be read again). Masking is left out: the training input
pipeline masks tokens anew every epoch (``kerapre.data.masking.PretrainingMasker``).

Documents are processed in chunks (``CHUNK_DOCUMENTS``), and a random B comes from
another document of the same chunk, so memory stays bounded on any corpus size.
"""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from kerapre.atomic import atomic_directory
from kerapre.data.corpus import corpus_size_hint, iter_documents
from kerapre.data.vocab import (
    CLS,
    PAD,
    SEP,
    load_vocabulary,
    make_tokenizer,
    vocabulary_hash,
)
from kerapre.errors import ConfigError, DataError

PAIRS_INFO_FILE = "pairs.json"
SHARD_PATTERN = "pairs-{index:05d}-of-{count:05d}.tfrecord"
FORMAT = "kerapre.pretraining_pairs/1"
CHUNK_DOCUMENTS = 100  # peak memory: ~2 chunks of pairs (benchmarks/input_pipeline.py)
# "[CLS] A [SEP] B [SEP]": three special tokens and at least one token each in A and B.
_MIN_SEQ_LENGTH = 5
# tf.io.parse_example is much faster on batches than on single records.
_PARSE_BATCH = 256


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

    @property
    def paths(self):
        """The shard paths."""
        return [os.path.join(self.output_dir, name) for name in self.files]


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
    _check_arguments(seq_length, short_seq_prob, dupe_factor)
    maker = _PairMaker(_tokenizer(tokenizer_or_vocab), seq_length, short_seq_prob, seed)
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
    _check_arguments(seq_length, short_seq_prob, dupe_factor)
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


def write_pretraining_records(
    corpus,
    vocab_path,
    output_dir,
    *,
    split="train",
    seq_length=128,
    dupe_factor=1,
    num_shards=4,
    seed=0,
    short_seq_prob=0.1,
    overwrite=False,
    text_key="text",
    data_dir=None,
    show_progress=True,
):
    """Makes the next-sentence pairs of a corpus and writes them as sharded TFRecords.

    The output directory holds ``pairs-00000-of-00004.tfrecord`` ... and a
    ``pairs.json`` (a ``PairsInfo``). It is written in a temporary directory beside it
    and renamed into place once complete, so it is never half-written. Pairs go to the
    shards in turn, so ``load_pretraining_records`` reads them back in the order made.

    Args:
        corpus: anything ``iter_documents`` reads (``"wiki_sample"``, a TFDS name, text
            files).
        vocab_path: the ``vocab.txt`` to tokenise with (or its directory).
        output_dir: the directory to write; must not exist or be empty.
        split: the corpus split (TFDS syntax).
        seq_length, dupe_factor, seed, short_seq_prob: as for ``create_pairs``.
        num_shards: the number of TFRecord files.
        overwrite: replace an existing ``output_dir`` (only once the new one is complete).
        text_key: the text feature of a TFDS corpus, as for ``iter_documents``.
        data_dir: where TFDS sets are prepared, as for ``iter_documents``.
        show_progress: show a progress bar over the documents.

    Returns:
        A ``PairsInfo``.

    Raises:
        DataError: if ``output_dir`` holds files and ``overwrite`` is False, or as for
            ``iter_documents``, ``load_vocabulary`` and ``create_pairs``.
        ConfigError: if an argument is out of range.

    Examples:

    ```python
    info = write_pretraining_records("wiki_sample", "runs/bert/vocab.txt", "runs/bert/pairs")
    ds = load_pretraining_records(info.output_dir)
    ```
    """
    _check_arguments(seq_length, short_seq_prob, dupe_factor)
    if num_shards < 1:
        raise ConfigError(f"num_shards must be at least 1, got {num_shards}")
    output_dir = os.path.abspath(os.fspath(output_dir))
    _check_output_dir(output_dir, overwrite)
    vocab = load_vocabulary(vocab_path)
    tokenizer = make_tokenizer(vocab)
    documents = iter_documents(corpus, split, text_key=text_key, data_dir=data_dir)
    files = tuple(
        SHARD_PATTERN.format(index=i, count=num_shards) for i in range(num_shards)
    )
    progress = tqdm(
        documents,
        total=corpus_size_hint(corpus, split, data_dir=data_dir),
        unit="doc",
        desc="pairs",
        disable=not show_progress,
    )
    with atomic_directory(output_dir, lambda path: _check_output_dir(path, overwrite)) as tmp:
        count = positives = 0
        writers = [tf.io.TFRecordWriter(os.path.join(tmp, name)) for name in files]
        try:
            pairs = create_pairs(
                progress,
                tokenizer,
                seq_length=seq_length,
                short_seq_prob=short_seq_prob,
                dupe_factor=dupe_factor,
                seed=seed,
            )
            for pair in pairs:
                writers[count % num_shards].write(_serialize(pair))
                count += 1
                positives += pair["next_sentence_label"] == 0
        finally:
            progress.close()
            for writer in writers:
                writer.close()
        info = PairsInfo(
            output_dir=output_dir,
            files=files,
            seq_length=seq_length,
            count=count,
            positive_fraction=round(float(positives / count), 4) if count else 0.0,
            vocab_hash=vocabulary_hash(vocab),
            vocabulary_size=len(vocab),
            pad_id=vocab.index(PAD),
            cls_id=vocab.index(CLS),
            sep_id=vocab.index(SEP),
            corpus=_corpus_name(corpus),
            split=split,
            stats=documents.stats.as_dict(),
            dupe_factor=dupe_factor,
            short_seq_prob=short_seq_prob,
            seed=seed,
        )
        _write_info(info, tmp)
    return info


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


def load_pretraining_records(path_or_files, *, seq_length=None, shuffle_files=False, seed=None):
    """Reads pairs written by ``write_pretraining_records`` as a ``tf.data.Dataset``.

    The shards are read in parallel; with ``shuffle_files=False`` the pairs come in the
    order ``create_pairs`` made them.

    Args:
        path_or_files: the output directory, or a list of (or a glob for) some of its
            shards, e.g. one worker's share.
        seq_length: the length the model expects; checked against ``pairs.json``.
        shuffle_files: read the shards in a new random order every pass.
        seed: the seed of that order.

    Returns:
        A ``tf.data.Dataset`` of the dicts ``create_pairs`` yields.

    Raises:
        DataError: if there is no ``pairs.json``, no shard, or ``seq_length`` differs
            from the one the pairs were made with.

    Examples:

    ```python
    ds = load_pretraining_records("runs/bert/pairs", seq_length=128)
    ds = ds.shuffle(10_000).batch(32)
    ```
    """
    files = _shard_paths(path_or_files)
    info = load_pairs_info(files[0])
    if seq_length is not None and seq_length != info.seq_length:
        raise DataError(
            f"the pairs in {info.output_dir} have seq_length {info.seq_length} but "
            f"{seq_length} was asked: re-run prepare with seq_length={seq_length} or "
            f"set the model's sequence length to {info.seq_length}"
        )
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_files:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=len(files),
        block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.batch(_PARSE_BATCH).map(
        _parser(info.seq_length, info.pad_id), num_parallel_calls=tf.data.AUTOTUNE
    )
    return ds.unbatch()


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


class _PairMaker:
    """Turns documents into pairs, one chunk of documents at a time."""

    def __init__(self, tokenizer, seq_length, short_seq_prob, seed):
        self.tokenize = _batch_tokenize(tokenizer)
        self.cls_id = tokenizer.token_to_id(CLS)
        self.sep_id = tokenizer.token_to_id(SEP)
        self.pad_id = tokenizer.token_to_id(PAD)
        self.seq_length = seq_length
        self.max_tokens = seq_length - 3
        self.short_seq_prob = short_seq_prob
        self.rng = np.random.default_rng(seed)

    def pairs(self, documents, dupe_factor):
        made = False
        for chunk in _chunks(documents, CHUNK_DOCUMENTS):
            tokenized = self._tokenize_chunk(chunk)
            if len(tokenized) < 2:
                if made:
                    continue  # The tail of a long corpus: too few documents to pair.
                raise DataError(
                    f"only {len(tokenized)} document(s) with 2 or more sentences: "
                    "next-sentence pairs need at least 2 documents, give a larger corpus"
                )
            made = True
            pairs = []
            for _ in range(dupe_factor):
                for index in range(len(tokenized)):
                    pairs.extend(self._document_pairs(tokenized, index))
            # Mixes documents and labels, as Google's script does over the whole corpus.
            for i in self.rng.permutation(len(pairs)):
                yield pairs[i]

    def _tokenize_chunk(self, chunk):
        """Returns each document as a list of int32 arrays, one per non-empty sentence."""
        sentences = [sentence for document in chunk for sentence in document]
        if not sentences:
            return []
        ragged = self.tokenize(tf.constant(sentences))
        values = ragged.flat_values.numpy()
        bounds = ragged.row_splits.numpy()
        tokenized, first = [], 0
        for document in chunk:
            last = first + len(document)
            kept = [
                values[bounds[i] : bounds[i + 1]]
                for i in range(first, last)
                if bounds[i + 1] > bounds[i]
            ]
            first = last
            if len(kept) >= 2:
                tokenized.append(kept)
        return tokenized

    def _document_pairs(self, documents, index):
        """Google's ``create_instances_from_document``, without the masking."""
        rng = self.rng
        document = documents[index]
        target_length = self.max_tokens
        if rng.random() < self.short_seq_prob:
            target_length = int(rng.integers(2, self.max_tokens, endpoint=True))
        pairs = []
        chunk, chunk_length, i = [], 0, 0
        while i < len(document):
            chunk.append(document[i])
            chunk_length += len(document[i])
            if i == len(document) - 1 or chunk_length >= target_length:
                a_end = int(rng.integers(1, len(chunk))) if len(chunk) >= 2 else 1
                tokens_a = np.concatenate(chunk[:a_end])
                if len(chunk) == 1 or rng.random() < 0.5:
                    is_random_next = True
                    tokens_b = self._random_span(
                        documents, index, target_length - len(tokens_a)
                    )
                    # The sentences not used for B go back to be read again.
                    i -= len(chunk) - a_end
                else:
                    is_random_next = False
                    tokens_b = np.concatenate(chunk[a_end:])
                tokens_a, tokens_b = self._truncate(tokens_a, tokens_b)
                pairs.append(self._pair(tokens_a, tokens_b, is_random_next))
                chunk, chunk_length = [], 0
            i += 1
        return pairs

    def _random_span(self, documents, index, target_length):
        """Sentences from a random other document, from a random start, of at least
        ``target_length`` tokens (or to the document's end)."""
        other = int(self.rng.integers(0, len(documents) - 1))
        if other >= index:
            other += 1
        sentences = documents[other]
        start = int(self.rng.integers(0, len(sentences)))
        span, length = [], 0
        for sentence in sentences[start:]:
            span.append(sentence)
            length += len(sentence)
            if length >= target_length:
                break
        return np.concatenate(span)

    def _truncate(self, tokens_a, tokens_b):
        """Google's ``truncate_seq_pair`` in closed form.

        Google removes one token at a time from the longer segment (B on a tie), from
        its front or its back at random, until the pair fits. So the longer segment
        loses tokens until both are equally long, then they lose them in turn, B first;
        how many of a segment's removals come off its front is binomial.
        """
        length_a, length_b = len(tokens_a), len(tokens_b)
        excess = length_a + length_b - self.max_tokens
        if excess <= 0:
            return tokens_a, tokens_b
        gap = abs(length_a - length_b)
        if excess <= gap:
            cut_a, cut_b = (excess, 0) if length_a > length_b else (0, excess)
        else:
            rest = excess - gap
            cut_a = rest // 2 + (gap if length_a > length_b else 0)
            cut_b = rest - rest // 2 + (gap if length_b >= length_a else 0)
        return self._cut(tokens_a, cut_a), self._cut(tokens_b, cut_b)

    def _cut(self, tokens, count):
        if count == 0:
            return tokens
        front = int(self.rng.binomial(count, 0.5))
        return tokens[front : len(tokens) - (count - front)]

    def _pair(self, tokens_a, tokens_b, is_random_next):
        length_a, length = len(tokens_a), len(tokens_a) + len(tokens_b) + 3
        token_ids = np.full(self.seq_length, self.pad_id, np.int32)
        token_ids[0] = self.cls_id
        token_ids[1 : 1 + length_a] = tokens_a
        token_ids[1 + length_a] = self.sep_id
        token_ids[2 + length_a : length - 1] = tokens_b
        token_ids[length - 1] = self.sep_id
        segment_ids = np.zeros(self.seq_length, np.int32)
        segment_ids[2 + length_a : length] = 1
        return {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": np.arange(self.seq_length) < length,
            "next_sentence_label": np.int32(is_random_next),
        }


def _chunks(documents, size):
    """Yields lists of up to ``size`` documents; a last chunk of 1 joins the one before,
    so that every chunk can supply random next sentences."""
    iterator = iter(documents)
    chunk = _take(iterator, size)
    while chunk:
        following = _take(iterator, size)
        if 0 < len(following) < 2:
            chunk.extend(following)
            following = []
        yield chunk
        chunk = following


def _take(iterator, count):
    chunk = []
    for document in iterator:
        chunk.append(document)
        if len(chunk) == count:
            break
    return chunk


def _tokenizer(tokenizer_or_vocab):
    if hasattr(tokenizer_or_vocab, "tokenize") and hasattr(tokenizer_or_vocab, "token_to_id"):
        if getattr(tokenizer_or_vocab, "sequence_length", None):
            raise ConfigError(
                "create_pairs needs a tokenizer without sequence_length (ragged output): "
                "use make_tokenizer(vocab)"
            )
        return tokenizer_or_vocab
    return make_tokenizer(tokenizer_or_vocab)


def _batch_tokenize(tokenizer):
    # Traced once: keras-hub's TensorFlow path is ~10x faster than its eager Python one.
    return tf.function(
        tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)]
    )


def _check_arguments(seq_length, short_seq_prob, dupe_factor):
    if seq_length < _MIN_SEQ_LENGTH:
        raise ConfigError(
            f"seq_length must be at least {_MIN_SEQ_LENGTH} ([CLS] A [SEP] B [SEP]), "
            f"got {seq_length}"
        )
    if not 0 <= short_seq_prob <= 1:
        raise ConfigError(f"short_seq_prob must be in [0, 1], got {short_seq_prob}")
    if dupe_factor < 1:
        raise ConfigError(f"dupe_factor must be at least 1, got {dupe_factor}")


def _serialize(pair):
    length = int(pair["padding_mask"].sum())

    def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    # Padding is not stored: it is added back when the records are read.
    features = {
        "token_ids": ints(pair["token_ids"][:length]),
        "segment_ids": ints(pair["segment_ids"][:length]),
        "next_sentence_label": ints([int(pair["next_sentence_label"])]),
    }
    example = tf.train.Example(features=tf.train.Features(feature=features))
    return example.SerializeToString()


def _parser(seq_length, pad_id):
    spec = {
        "token_ids": tf.io.RaggedFeature(tf.int64),
        "segment_ids": tf.io.RaggedFeature(tf.int64),
        "next_sentence_label": tf.io.FixedLenFeature([], tf.int64),
    }

    def parse(records):
        example = tf.io.parse_example(records, spec)
        shape = [None, seq_length]
        token_ids = example["token_ids"]
        return {
            "token_ids": tf.cast(token_ids.to_tensor(pad_id, shape=shape), tf.int32),
            "segment_ids": tf.cast(example["segment_ids"].to_tensor(0, shape=shape), tf.int32),
            "padding_mask": tf.sequence_mask(token_ids.row_lengths(), seq_length),
            "next_sentence_label": tf.cast(example["next_sentence_label"], tf.int32),
        }

    return parse


def _shard_paths(path_or_files):
    if isinstance(path_or_files, (list, tuple)):
        files = [os.fspath(f) for f in path_or_files]
    else:
        path = os.fspath(path_or_files)
        if os.path.isdir(path):
            files = load_pairs_info(path).paths
        else:
            files = sorted(tf.io.gfile.glob(path))
    missing = [f for f in files if not os.path.isfile(f)]
    if not files or missing:
        raise DataError(
            f"no pairs shard at {missing[0] if missing else path_or_files}: give the "
            "directory written by write_pretraining_records (kerapre prepare)"
        )
    return files


def _corpus_name(corpus):
    if isinstance(corpus, (list, tuple)):
        return [os.fspath(c) for c in corpus]
    return os.fspath(corpus)


def _check_output_dir(output_dir, overwrite):
    if os.path.isdir(output_dir) and os.listdir(output_dir) and not overwrite:
        raise DataError(
            f"{output_dir} already exists and is not empty: pass overwrite=True "
            "(--overwrite) or choose another directory"
        )
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise DataError(f"{output_dir} is a file: choose a directory for the pairs")


def _write_info(info, folder):
    record = {"format": FORMAT, **dataclasses.asdict(info)}
    del record["output_dir"]  # The directory may move; its files are found beside this one.
    with open(os.path.join(folder, PAIRS_INFO_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
