"""Configs of BERT masked-LM + next-sentence pretraining (``pretrain bert``)."""

import dataclasses
import typing

from kerapre.config.loader import check
from kerapre.config.presets import BERT_PRESETS
from kerapre.config.runtime import TrainingConfig


@dataclasses.dataclass
class BertDataConfig:
    """The text a BERT encoder is pretrained on, and how pairs are made and masked.

    Args:
        corpus: ``wiki_sample``, ``lee_news``, another TFDS name with a text feature, or
            your own files: BERT-format text (one sentence per line, a blank line between
            documents) or JSON Lines (``.jsonl``: one document per line, in its
            ``data.text_key`` field), either of them ``.gz`` or ``.bz2`` compressed: a file, a
            directory or a glob. Pairs and a learned vocabulary are made again when a file's
            size or modification time changes.
        train_split: the split to train on; TFDS slicing allowed (``train[:10%]``); ignored
            for text files.
        eval_split: the held-out split of a TFDS corpus, evaluated before, during and after
            training (``null``: none); text files have no splits.
        eval_corpus: a separate held-out corpus (a file, glob or directory): the only
            held-out evaluation a text-file corpus gets.
        extra_corpora: more training sources, e.g. ``[lee_news]``: each is paired on its own
            (both halves of a pair come from one source), read with ``data.train_split``,
            and sampled in proportion to its pair count.
        text_key: the text feature of a TFDS corpus, or the field of a JSON Lines one.
        vocab: an existing ``vocab.txt``; ``null`` learns one from the training split (or
            takes the one of ``model.init``).
        vocab_size: the largest size of a learned vocabulary, special tokens included (a
            ``vocab.txt`` already in the run directory is reused instead).
        lowercase: lower-case text (and strip accents) before WordPiece, for the vocabulary
            learned and the pairs written; ``null`` follows ``model.init``'s casing (a cased
            checkpoint such as ``bert-base-cased`` keeps its case), else ``true``. An explicit
            value that contradicts the checkpoint wins, with a warning.
        seq_length: tokens per pair, ``[CLS] A [SEP] B [SEP]`` plus padding (8 to 512).
        max_predictions: masked positions per sequence at most.
        mask_rate: fraction of the tokens to predict (80% become ``[MASK]``, 10% a random
            token, 10% stay).
        whole_word_masking: mask every WordPiece of a chosen word together.
        short_seq_prob: probability that a document aims at a shorter random pair length
            (BERT's recipe).
        dupe_factor: how many times the training split is paired, with new random cuts (the
            held-out split: once).
        batch_size: pairs per replica per step.
        data_dir: where TFDS keeps prepared data (as for the CNN configs).
    """

    corpus: str = "wiki_sample"
    train_split: str = "train"
    eval_split: typing.Optional[str] = "test"
    eval_corpus: typing.Optional[str] = None
    extra_corpora: typing.List[str] = dataclasses.field(default_factory=list)
    text_key: str = "text"
    vocab: typing.Optional[str] = None
    vocab_size: int = 8192
    lowercase: typing.Optional[bool] = None
    seq_length: int = 128
    max_predictions: int = 20
    mask_rate: float = 0.15
    whole_word_masking: bool = False
    short_seq_prob: float = 0.1
    dupe_factor: int = 5
    batch_size: int = 32
    data_dir: typing.Optional[str] = None

    def validate(self):
        check(self.vocab_size >= 100, "data.vocab_size must be at least 100")
        check(8 <= self.seq_length <= 512, "data.seq_length must be in [8, 512]")
        check(0 < self.max_predictions < self.seq_length, "data.max_predictions must be in (0, seq_length)")
        check(0 < self.mask_rate < 1, "data.mask_rate must be in (0, 1)")
        check(0 <= self.short_seq_prob <= 1, "data.short_seq_prob must be in [0, 1]")
        check(self.dupe_factor > 0, "data.dupe_factor must be positive")
        check(self.batch_size > 0, "data.batch_size must be positive")


@dataclasses.dataclass
class BertPresetConfig:
    """The shape of a BERT encoder built with fresh weights.

    Args:
        preset: ``bert_tiny``, ``bert_mini``, ``bert_small``, ``bert_medium`` or ``bert_base``
            ([presets](bert_pretraining.md#encoders-and-presets)).
        dropout: dropout rate of the encoder.
    """

    preset: str = "bert_tiny"
    dropout: float = 0.1

    def validate(self):
        check(self.preset in BERT_PRESETS, f"unknown model.preset {self.preset!r}: choose one of {list(BERT_PRESETS)}")
        check(0 <= self.dropout < 1, "model.dropout must be in [0, 1)")


@dataclasses.dataclass
class BertModelConfig(BertPresetConfig):
    """Which encoder to pretrain.

    Args:
        preset: ``bert_tiny``, ``bert_mini``, ``bert_small``, ``bert_medium`` or ``bert_base``
            ([presets](bert_pretraining.md#encoders-and-presets)); ignored with ``model.init``.
        init: continue from weights: a published encoder (``minilm_l6``, a Hugging Face or
            Google BERT directory, a keras-hub preset name, handle or directory), keeping its
            vocabulary and its masked-LM and next-sentence heads (masked-LM only without a
            next-sentence head), or a kerapre BERT run directory or its ``pretrainer.keras``;
            ``null`` starts from fresh weights.
        next_sentence: train the next-sentence head too (``false``: masked-LM only).
    """

    init: typing.Optional[str] = None
    next_sentence: bool = True


@dataclasses.dataclass
class BertTrainConfig(TrainingConfig):
    """How BERT pretraining runs: step-based, in short virtual epochs.

    Args:
        steps: optimizer steps, rounded up to whole virtual epochs of
            ``train.steps_per_epoch``.
        steps_per_epoch: steps per virtual epoch: a held-out evaluation, a checkpoint and a
            ``metrics.csv`` row after each.
        warmup_steps: steps of linear warm-up (``null``: 10% of ``train.steps``).
        decay: after warm-up: ``linear`` decay to 0 at ``train.steps`` (BERT's schedule) or
            ``constant``.
        learning_rate: peak learning rate.
        optimizer: ``adamw``, ``adam`` or ``sgd`` (momentum 0.9).
        steps_per_execution: train steps per ``tf.function`` call; ``train.steps_per_epoch``
            must be a multiple of it.
        eval_batches: held-out batches per evaluation (``null``: the whole held-out split).
        seed: seeds weights, pairing, shuffling and masking.
        verbose: Keras progress output: 1 bar, 2 one line per virtual epoch, 0 quiet.
        backup: back up weights, optimizer and the position in the data to
            ``model_dir/backup`` after every virtual epoch; run the same command again after
            a crash to continue exactly where it was
            ([distributed.md](distributed.md#resuming-after-a-crash)).
    """

    steps: int = 3000
    steps_per_epoch: int = 250
    warmup_steps: typing.Optional[int] = None
    decay: str = "linear"
    optimizer: str = "adamw"
    weight_decay: float = 0.01
    clipnorm: typing.Optional[float] = 1.0
    eval_batches: typing.Optional[int] = None
    backup: bool = True

    def validate(self):
        check(self.steps > 0, "train.steps must be positive")
        check(self.steps_per_epoch > 0, "train.steps_per_epoch must be positive")
        per_call = max(1, self.steps_per_execution)
        check(
            self.steps_per_epoch % per_call == 0,
            f"train.steps_per_epoch {self.steps_per_epoch} is not a multiple of train.steps_per_execution "
            f"{self.steps_per_execution} (Keras would run whole calls, more steps per epoch): make it one, e.g. "
            f"{self.steps_per_epoch - self.steps_per_epoch % per_call or per_call}",
        )
        check(
            self.warmup_steps is None or 0 <= self.warmup_steps < self.steps,
            "train.warmup_steps must be in [0, steps) or null",
        )
        check(self.decay in ("linear", "constant"), "train.decay must be linear or constant")


@dataclasses.dataclass
class BertPretrainConfig:
    """Masked-LM + next-sentence pretraining of a BERT encoder."""

    data: BertDataConfig = dataclasses.field(default_factory=BertDataConfig)
    model: BertModelConfig = dataclasses.field(default_factory=BertModelConfig)
    train: BertTrainConfig = dataclasses.field(default_factory=BertTrainConfig)
