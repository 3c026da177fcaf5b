"""BERT pretraining (masked LM + next sentence) with ``model.fit`` under a strategy."""

import dataclasses
import hashlib
import json
import math
import os
import re
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from kerapre.config import BertPretrainConfig, validate
from kerapre.data.corpus import corpus_fingerprint, is_path_like, iter_documents
from kerapre.data.masking import PretrainingMasker
from kerapre.data.pair_records import load_pretraining_records, write_pretraining_records
from kerapre.data.pairs_info import load_pairs_info
from kerapre.data.vocab import load_vocabulary, vocabulary_hash, write_vocabulary
from kerapre.data.vocab_learning import learn_vocabulary
from kerapre.distribute import num_workers, shard_by
from kerapre.training import WarmupLinearDecay
from kerapre.export.encoders import INIT_HINT, INIT_KINDS, VOCAB_FILE, build_pretrainer, init_vocabulary_path, \
    text_casing
from kerapre.export.published_sources import PUBLISHED_KINDS, has_next_sentence_head
from kerapre.export.resolve import resolve
from kerapre.run_record import PRETRAINER_FILE
from kerapre.training.run import TrainingRun

EVAL_METRICS = ("mlm_accuracy", "mlm_perplexity", "nsp_accuracy", "loss")


@dataclasses.dataclass
class BertRunResult:
    """What a BERT pretraining run produced.

    Attributes:
        pretrainer: the trained ``BertPretrainer`` (its ``.encoder`` is the backbone).
        model_dir: the run directory.
        vocab_path: the ``vocab.txt`` that travels with the encoder.
        history: ``{metric: [value per virtual epoch]}``.
        before: held-out metrics before training (``None`` without an eval split).
        after: held-out metrics after training.
        train_metrics: metrics on a fixed sample of training pairs after training.
        mlm_majority_baseline: held-out accuracy of always predicting the most frequent
            masked token.
        sequences_per_second: global batch / median step time.
        seconds: wall time of ``fit``.
    """

    pretrainer: keras.Model
    model_dir: str
    vocab_path: str
    history: dict
    before: dict
    after: dict
    train_metrics: dict
    mlm_majority_baseline: float
    sequences_per_second: float
    seconds: float


def prepare_vocabulary(config, model_dir, init_vocab=None, log=print, casing=None):
    """The run's ``vocab.txt``: the configured one, the one of the weights we continue
    from, one this run directory already learned with the same settings, or one learned
    now from the training split with ``casing`` (as for :func:`prepare_pairs`)."""
    target = os.path.join(model_dir, VOCAB_FILE)
    recipe_path = os.path.join(model_dir, "vocab.json")
    source = config.data.vocab or init_vocab
    if isinstance(source, list):  # a keras-hub handle's tokenizer
        write_vocabulary(source, target)
        source = target
    if source:
        vocab = load_vocabulary(source)
        if os.path.abspath(source) != os.path.abspath(target):
            shutil.copyfile(source, target)
        if os.path.exists(recipe_path):
            os.remove(recipe_path)
        return target, vocab
    recipe = {"corpus": str(config.data.corpus), "split": config.data.train_split,
              "text_key": config.data.text_key, "vocab_size": config.data.vocab_size}
    fingerprint = corpus_fingerprint(config.data.corpus, config.data.text_key)
    if fingerprint is not None:  # a file corpus: learned again when a file changes
        recipe["corpus_fingerprint"] = fingerprint
    casing = casing or {"lowercase": True, "strip_accents": True}
    if casing != {"lowercase": True, "strip_accents": True}:  # earlier runs learned uncased ones
        recipe.update(casing)
    if os.path.exists(target) and os.path.exists(recipe_path):
        with open(recipe_path, encoding="utf-8") as f:
            if json.load(f) == recipe:
                return target, load_vocabulary(target)
    log(f"[bert] learning a {config.data.vocab_size}-token WordPiece vocabulary on {config.data.corpus}")
    start = time.perf_counter()
    learn_vocabulary(
        config.data.corpus,
        config.data.vocab_size,
        split=config.data.train_split,
        lowercase=casing["lowercase"],
        strip_accents=casing["strip_accents"],
        text_key=config.data.text_key,
        data_dir=config.data.data_dir,
        output_path=target,
    )
    vocab = load_vocabulary(target)
    with open(recipe_path, "w", encoding="utf-8") as f:
        json.dump(recipe, f)
    log(f"[bert] vocabulary: {len(vocab)} tokens in {time.perf_counter() - start:.1f} s")
    return target, vocab


def prepare_pairs(config, model_dir, vocab_path, split, dupe_factor, log=print, corpus=None, casing=None):
    """Sentence-pair TFRecords of ``corpus`` (default ``data.corpus``) ``split`` under
    ``model_dir/pairs/``, made once and reused while the vocabulary and sequence length
    stay the same. ``casing``: ``{"lowercase", "strip_accents"}`` of the tokenizer (default:
    uncased, accents stripped)."""
    corpus = corpus or config.data.corpus
    casing = casing or {"lowercase": True, "strip_accents": True}
    # One directory per (source, split): readable name plus a hash, so two sources never share.
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{os.path.basename(str(corpus).rstrip('/'))}-{split}").strip("_")
    digest = hashlib.sha256(f"{corpus}|{split}".encode()).hexdigest()[:8]
    out = os.path.join(model_dir, "pairs", f"{label}-{digest}")
    if os.path.exists(os.path.join(out, "pairs.json")):
        meta = load_pairs_info(out)
        wanted = (vocabulary_hash(load_vocabulary(vocab_path)), config.data.seq_length, dupe_factor,
                  str(corpus), split, config.train.seed, config.data.short_seq_prob, casing["lowercase"],
                  casing["strip_accents"], corpus_fingerprint(corpus, config.data.text_key))
        found = (meta.vocab_hash, meta.seq_length, meta.dupe_factor, str(meta.corpus), meta.split, meta.seed,
                 meta.short_seq_prob, meta.lowercase, meta.stripped_accents, meta.corpus_fingerprint)
        if wanted == found:
            return out, meta
        if wanted[-1] != found[-1]:
            log(f"[bert] {corpus} changed since its pairs were made: pairing it again")
        shutil.rmtree(out)
    log(f"[bert] pairing sentences of {corpus}[{split}] (seq_length {config.data.seq_length})")
    meta = write_pretraining_records(
        corpus,
        vocab_path,
        out,
        split=split,
        seq_length=config.data.seq_length,
        dupe_factor=dupe_factor,
        short_seq_prob=config.data.short_seq_prob,
        seed=config.train.seed,
        text_key=config.data.text_key,
        data_dir=config.data.data_dir,
        lowercase=casing["lowercase"],
        strip_accents=casing["strip_accents"],
    )
    log(f"[bert] {meta.count} pairs ({meta.positive_fraction:.0%} true next) in {out}")
    return out, meta


def training_dataset(records, masker, global_batch, seed, seq_length):
    """Shuffled, repeated, batched (static shapes) and freshly masked on every pass.

    ``records`` is one pairs directory or several (one per source), sampled in
    proportion to their pair counts."""
    sources = [records] if isinstance(records, str) else list(records)
    streams = [load_pretraining_records(r, seq_length=seq_length).shuffle(20_000, seed=seed).repeat()
               for r in sources]
    counts = [load_pairs_info(r).count for r in sources]
    ds = streams[0] if len(streams) == 1 else tf.data.Dataset.sample_from_datasets(
        streams, weights=[c / sum(counts) for c in counts], seed=seed)
    ds = ds.batch(global_batch, drop_remainder=True)
    # Sequential on purpose: parallel calls would draw the masks in a nondeterministic order.
    return with_static_batch(ds.map(masker), global_batch).prefetch(tf.data.AUTOTUNE)


def with_static_batch(ds, batch_size):
    """``ds`` with every tensor's first dimension set to ``batch_size`` (the masker's outputs
    lose it), so every shape is static, as TPUs need."""

    def fix(*element):
        for tensor in tf.nest.flatten(element):
            tensor.set_shape([batch_size, *tensor.shape[1:]])
        return element

    return ds.map(fix)


def evaluation_dataset(records, masker, global_batch, seq_length, batches=None, seed=0):
    """Batched and masked once: the masks are drawn under ``seed`` and cached, so every
    evaluation (before, during and after training) scores the same masked positions."""
    tf.random.set_seed(seed)
    ds = load_pretraining_records(records, seq_length=seq_length)
    ds = ds.apply(tf.data.experimental.assert_cardinality(load_pairs_info(records).count))
    ds = ds.batch(global_batch, drop_remainder=True)
    if batches:
        ds = ds.take(batches)
    ds = with_static_batch(ds.map(masker), global_batch).cache()
    for _ in ds:  # fill the cache now, under the seed just set
        pass
    return ds


def majority_baseline(eval_ds):
    """Accuracy of always predicting the most frequent masked token of ``eval_ds``."""
    counts = {}
    for _, labels, weights in eval_ds:
        ids = labels["mlm"].numpy()[weights["mlm"].numpy() > 0]
        for token, n in zip(*np.unique(ids, return_counts=True)):
            counts[int(token)] = counts.get(int(token), 0) + int(n)
    total = sum(counts.values())
    return max(counts.values()) / total if total else float("nan")


def pretrain_bert(config=None, model_dir="runs/bert_pretrain", log=print):
    """Pretrains a BERT encoder with masked-LM and next-sentence prediction.

    Learns (or takes) a WordPiece vocabulary, writes sentence-pair TFRecords, then trains
    with dynamic masking for ``train.steps`` steps in virtual epochs of
    ``train.steps_per_epoch``, evaluating on the held-out split before, during and after.
    Writes ``config.yaml``, ``vocab.txt``, ``pairs/``, TensorBoard ``logs/``,
    ``metrics.csv``, ``checkpoints/latest.weights.h5``, ``pretrainer.keras`` and
    ``run.json``; with ``train.backup`` a ``backup/`` while it runs, from which a crashed run
    started again continues exactly. Under a multi-worker strategy only the chief writes
    ``model_dir``.

    Args:
        config: a ``kerapre.config.BertPretrainConfig``.
        model_dir: the run directory.
        log: where progress lines go.

    Returns:
        A ``BertRunResult``.

    Examples:

    ```python
    config = load_config(BertPretrainConfig, overrides=["train.steps=500"])
    run = kerapre.pretrain_bert(config, model_dir="runs/bert_tiny")
    run.after["mlm_accuracy"], run.after["nsp_accuracy"]
    ```
    """
    config = validate(config or BertPretrainConfig())
    init = None
    if config.model.init:  # a missing or unreadable init fails here, before anything is written
        init = resolve(config.model.init, hint=INIT_HINT).expect(INIT_KINDS, "a BERT encoder to continue from",
                                                                 INIT_HINT)
        if init.kind in PUBLISHED_KINDS and config.model.next_sentence and not has_next_sentence_head(init):
            log(f"[bert] {config.model.init} has no next-sentence head: pretraining masked-LM only "
                "(model.next_sentence=false)")
            config = dataclasses.replace(config, model=dataclasses.replace(config.model, next_sentence=False))
    for source in (config.data.corpus, *config.data.extra_corpora, config.data.eval_corpus):
        if source:  # a missing file or unknown set fails here, before anything is written
            iter_documents(source, config.data.train_split, text_key=config.data.text_key,
                           data_dir=config.data.data_dir)
    lowercase, strip_accents = text_casing(init, config.data.lowercase, log, prefix="[bert]")
    casing = {"lowercase": lowercase, "strip_accents": lowercase if strip_accents is None else strip_accents}
    with TrainingRun(config, model_dir, task="bert_pretrain", log=log) as run:
        data, train_config = config.data, config.train
        write_dir = run.directory
        vocab_path, vocab = prepare_vocabulary(config, write_dir, init_vocabulary_path(config.model.init), log,
                                               casing)
        train_records, train_meta = prepare_pairs(config, write_dir, vocab_path, data.train_split,
                                                  data.dupe_factor, log,
                                                  casing=casing)
        extra_records = [
            prepare_pairs(config, write_dir, vocab_path, data.train_split, data.dupe_factor, log, corpus=extra,
                          casing=casing)[0]
            for extra in data.extra_corpora
        ]
        eval_records = None
        if data.eval_corpus:
            eval_records, _ = prepare_pairs(config, write_dir, vocab_path, data.train_split, 1, log,
                                            corpus=data.eval_corpus, casing=casing)
        elif data.eval_split and is_path_like(data.corpus):
            log("[bert] text-file corpora have no held-out split: set data.eval_corpus for a held-out evaluation")
        elif data.eval_split:
            eval_records, _ = prepare_pairs(config, write_dir, vocab_path, data.eval_split, 1, log,
                                            casing=casing)

        global_batch = run.global_batch(data.batch_size)
        masker = PretrainingMasker(
            vocab, max_predictions=data.max_predictions, rate=data.mask_rate, whole_word=data.whole_word_masking,
            next_sentence=config.model.next_sentence,
        )
        train_ds = training_dataset([train_records, *extra_records], masker, global_batch, train_config.seed,
                                    data.seq_length)
        # Workers read their own pair shards when there are enough to go round.
        shards = min(len(load_pairs_info(r).files) for r in [train_records, *extra_records])
        train_ds = shard_by(train_ds, "file" if shards >= num_workers(run.strategy) else "data")
        eval_ds = None
        if eval_records:
            eval_ds = evaluation_dataset(eval_records, masker, global_batch, data.seq_length,
                                         train_config.eval_batches, seed=train_config.seed + 1)
            eval_ds = shard_by(eval_ds, "data")  # cached with a fixed cardinality: workers split every batch
        train_sample = evaluation_dataset(train_records, masker, global_batch, data.seq_length,
                                          train_config.eval_batches or 20, seed=train_config.seed + 2)
        train_sample = shard_by(train_sample, "data")
        keras.utils.set_random_seed(train_config.seed)

        epochs = math.ceil(train_config.steps / train_config.steps_per_epoch)
        total_steps = epochs * train_config.steps_per_epoch  # whole virtual epochs
        with run.scope():
            pretrainer = build_pretrainer(config, len(vocab), log=log)
            warmup = train_config.steps // 10 if train_config.warmup_steps is None else train_config.warmup_steps
            end = train_config.learning_rate if train_config.decay == "constant" else 0.0
            schedule = WarmupLinearDecay(train_config.learning_rate, total_steps, warmup, end=end)
            run.compile(pretrainer, learning_rate=schedule)

        def evaluate(ds):
            results = pretrainer.evaluate(ds, verbose=0, return_dict=True)
            return {k: float(v) for k, v in results.items() if k in EVAL_METRICS}

        before = evaluate(eval_ds) if eval_ds is not None else None
        baseline = majority_baseline(eval_ds) if eval_ds is not None else float("nan")
        if before:
            log(f"[bert] held-out before training: {_format(before)}; majority-token MLM baseline {baseline:.4f}")

        encoder = pretrainer.encoder
        log(f"[bert] encoder L{encoder.num_layers}/H{encoder.hidden_dim}/A{encoder.num_heads} "
            f"({encoder.count_params():,} parameters), {run.precision}, XLA {'on' if pretrainer.jit_compile else 'off'}"
            f"{' (auto)' if train_config.jit_compile == 'auto' else ''}, {run.strategy.num_replicas_in_sync} "
            f"replica(s), global batch {global_batch}: {total_steps} steps in {epochs} virtual epochs")
        run.fit(pretrainer, train_ds, epochs=epochs, steps_per_epoch=train_config.steps_per_epoch,
                validation_data=eval_ds, keep_every_checkpoint=False)
        after = evaluate(eval_ds) if eval_ds is not None else None
        train_metrics = evaluate(train_sample)
        speed = global_batch / run.timer.median()
        if after:
            log(f"[bert] held-out after training: {_format(after)}")
        log(f"[bert] training pairs after training: {_format(train_metrics)}; {speed:.0f} sequences/s")

        run.save_model(pretrainer, PRETRAINER_FILE)
        run.finish(
            corpus=data.corpus,
            vocabulary_size=len(vocab),
            vocabulary_hash=vocabulary_hash(vocab),
            lowercase=lowercase,
            strip_accents=None if casing["strip_accents"] == lowercase else casing["strip_accents"],
            train_pairs=train_meta.count,
            sequences_per_second=round(speed, 1),
            held_out_before=before,
            held_out_after=after,
            train_after=train_metrics,
            mlm_majority_baseline=baseline,
        )
    return BertRunResult(pretrainer, model_dir, os.path.join(model_dir, VOCAB_FILE), run.history, before, after,
                         train_metrics, baseline, speed, run.fit_seconds)


def _format(metrics):
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "loss")
