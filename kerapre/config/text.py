"""Configs of text classification fine-tuning (``finetune text``)."""

import dataclasses
import typing

from kerapre.config.bert import BertPresetConfig
from kerapre.config.loader import check
from kerapre.config.paths import BERT_PRETRAIN_DIR
from kerapre.config.runtime import TrainingConfig
from kerapre.config.user_data import TextTableKeys

SCRATCH = "scratch"


@dataclasses.dataclass
class TextDataConfig(TextTableKeys):
    """The labelled text a BERT encoder is fine-tuned on, and how it is tokenised and batched.

    Args:
        name: ``rotten_tomatoes`` (offline), ``glue/sst2``, ``imdb_reviews`` or another TFDS
            text-classification set, or a GLUE sentence-pair set: ``glue/mrpc``,
            ``glue/rte``, ``glue/qqp``, ``glue/mnli`` (also ``glue/qnli``, ``glue/wnli``);
            GLUE ``test`` splits are unlabelled, so set ``data.test_split`` to a validation
            split. Or your own table: a ``.csv``, ``.tsv`` or ``.jsonl`` file, or a directory
            of ``train``/``validation``/``test`` tables (``data.text_column``, ...).
        train_split: the split to train on.
        validation_split: evaluated after every epoch and at the end (``null``: none).
        test_split: evaluated once at the end (``null``: none).
        seq_length: tokens per example; longer text is cut.
        dynamic_padding: pad each batch only to its longest example (same outputs, several
            times faster on short texts); ignored on TPUs.
        bucket_by_length: with ``dynamic_padding``: train on batches of similar-length
            examples (every 32 batches' worth of shuffled examples sorted by length, then
            the batches shuffled), so batches pad less (docs/benchmarks.md).
        batch_size: examples per replica per step.
        vocab: a ``vocab.txt``; required for ``backbone: scratch``, else the backbone's own.
        lowercase: lower-case and strip accents before tokenising (an uncased vocabulary);
            ``null`` follows the backbone (what its run or export recorded; uncased if it
            recorded nothing); a value that contradicts the backbone is used, with a warning.
        data_dir: where TFDS keeps prepared data.
        limit: use only the first ``limit`` examples of each split (smoke runs).
    """

    name: str = "rotten_tomatoes"
    train_split: str = "train"
    validation_split: typing.Optional[str] = "validation"
    test_split: typing.Optional[str] = "test"
    seq_length: int = 128
    dynamic_padding: bool = True
    bucket_by_length: bool = True
    batch_size: int = 32
    vocab: typing.Optional[str] = None
    lowercase: typing.Optional[bool] = None
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None

    def validate(self):
        check(8 <= self.seq_length <= 512, "data.seq_length must be in [8, 512]")
        check(self.batch_size > 0, "data.batch_size must be positive")
        check(self.limit is None or self.limit > 0, "data.limit must be positive or null")


@dataclasses.dataclass
class TextModelConfig(BertPresetConfig):
    """The encoder built when ``backbone`` is ``scratch`` (ignored otherwise).

    Args:
        preset: the encoder built for ``backbone: scratch``.
        dropout: the encoder's dropout for ``backbone: scratch``.
    """


POOLINGS = ("pooled_output", "mean")


@dataclasses.dataclass
class TextHeadConfig:
    """The classification head put on the encoder.

    Args:
        dropout: dropout before the output layer.
        pooling: what the head reads: ``pooled_output`` (the tanh dense over ``[CLS]``,
            BERT's recipe) or ``mean`` (the mean of the token vectors, what
            sentence-transformers such as ``minilm_l6`` were trained for).
    """

    dropout: float = 0.1
    pooling: str = "pooled_output"

    def validate(self):
        check(0 <= self.dropout < 1, "head.dropout must be in [0, 1)")
        check(self.pooling in POOLINGS, f"head.pooling must be one of {POOLINGS}")


@dataclasses.dataclass
class TextTrainConfig(TrainingConfig):
    """How text fine-tuning runs: ``epochs`` passes with warm-up and linear decay.

    Args:
        epochs: passes over the training split.
        learning_rate: peak rate (``null``: 3e-4 trainable, pretrained or scratch, and 1e-3
            frozen, chosen on Rotten Tomatoes validation for ``bert_tiny``; 5e-5 for a
            trainable encoder of hidden size ≥ 512).
        warmup_fraction: share of the steps spent warming up, then linear decay.
        optimizer: ``adamw``, ``adam`` or ``sgd``.
        seed: seeds weights, shuffling and the label subset.
    """

    epochs: int = 3
    learning_rate: typing.Optional[float] = None
    warmup_fraction: float = 0.1
    optimizer: str = "adamw"
    weight_decay: float = 0.01
    clipnorm: typing.Optional[float] = 1.0

    def validate(self):
        check(self.epochs > 0, "train.epochs must be positive")
        check(0 <= self.warmup_fraction < 1, "train.warmup_fraction must be in [0, 1)")


@dataclasses.dataclass
class FinetuneTextConfig:
    """Fine-tuning a BERT encoder (pretrained, or built from scratch) to classify text.

    Args:
        backbone: a BERT pretraining run (or its checkpoint ``.weights.h5``), a ``.keras`` or
            TF Hub export, a ``finetune text`` run, a published encoder (``minilm_l6``, a Hugging
            Face or Google BERT directory, a keras-hub preset name, handle or directory):
            anything ``load_encoder`` takes; or ``scratch`` (a fresh ``model.preset``; needs
            ``data.vocab``).
        trainable: fine-tune the encoder weights too (``false``: only the head trains).
        labels_per_class: keep only this many labelled training examples per class
            (``null``: all).
    """

    backbone: str = BERT_PRETRAIN_DIR
    trainable: bool = True
    labels_per_class: typing.Optional[int] = None
    data: TextDataConfig = dataclasses.field(default_factory=TextDataConfig)
    model: TextModelConfig = dataclasses.field(default_factory=TextModelConfig)
    head: TextHeadConfig = dataclasses.field(default_factory=TextHeadConfig)
    train: TextTrainConfig = dataclasses.field(default_factory=TextTrainConfig)

    def validate(self):
        check(bool(self.backbone), "backbone must be a BERT run directory, a pretrainer.keras or scratch")
        check(self.labels_per_class is None or self.labels_per_class > 0, "labels_per_class must be positive or null")
        check(self.backbone != SCRATCH or bool(self.data.vocab),
              "backbone=scratch needs a vocabulary: set data.vocab to a vocab.txt")
