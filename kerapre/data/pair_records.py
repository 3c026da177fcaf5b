"""Next-sentence pairs on disk: sharded TFRecords, written once and read back as a dataset.

``write_pretraining_records`` makes the pairs of a corpus (``create_pairs``) and writes
them into a directory with a ``pairs.json`` (``PairsInfo``);
``load_pretraining_records`` reads them back, padding restored, in the order made.
"""

import os

import tensorflow as tf
from tqdm.auto import tqdm

from kerapre.atomic import atomic_directory
from kerapre.data.corpus import corpus_fingerprint, corpus_size_hint, iter_documents
from kerapre.data.pairs_info import PairsInfo, load_pairs_info, write_pairs_info
from kerapre.data.pretraining_pairs import check_pair_arguments, create_pairs
from kerapre.data.vocab import (
    CLS,
    PAD,
    SEP,
    load_vocabulary,
    make_tokenizer,
    vocabulary_hash,
)
from kerapre.errors import ConfigError, DataError

SHARD_PATTERN = "pairs-{index:05d}-of-{count:05d}.tfrecord"
# tf.io.parse_example is much faster on batches than on single records.
_PARSE_BATCH = 256


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
    lowercase=True,
    strip_accents=None,
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
        lowercase: lower-case (and strip accents) before WordPiece: true for an uncased
            vocabulary, false for a cased one (``bert-base-cased``).
        strip_accents: remove accents (``None``: as ``lowercase``).

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
    check_pair_arguments(seq_length, short_seq_prob, dupe_factor)
    if num_shards < 1:
        raise ConfigError(f"num_shards must be at least 1, got {num_shards}")
    output_dir = os.path.abspath(os.fspath(output_dir))
    _check_output_dir(output_dir, overwrite)
    vocab = load_vocabulary(vocab_path)
    tokenizer = make_tokenizer(vocab, lowercase=lowercase, strip_accents=strip_accents)
    fingerprint = corpus_fingerprint(corpus, text_key)  # before reading: a file changed meanwhile is noticed
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
            lowercase=bool(lowercase),
            strip_accents=None if strip_accents is None or strip_accents == lowercase else bool(strip_accents),
            corpus_fingerprint=fingerprint,
        )
        write_pairs_info(info, tmp)
    return info


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
