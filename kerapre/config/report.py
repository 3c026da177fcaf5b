"""Configs of the label-efficiency reports (``report image`` and ``report text``)."""

import dataclasses
import typing

from kerapre.config.cnn import HeadConfig
from kerapre.config.loader import check
from kerapre.config.runtime import RuntimeConfig
from kerapre.config.user_data import ImageFolderKeys, TextTableKeys

REPORT_METHODS = ("scratch", "frozen", "trainable", "linear_probe")


@dataclasses.dataclass
class ReportLearningRates:
    """The learning rates a label-efficiency run tries for each way of training; it keeps
    the one whose best validation accuracy is highest (the linear probe chooses its
    regularisation instead, from ``train.probe_c``).

    Args:
        scratch: learning rates tried for ``scratch``, one run each; the best on validation
            is kept.
        frozen: as for ``scratch``, for ``frozen``.
        trainable: as for ``scratch``, for ``trainable``.
    """

    scratch: typing.List[float] = dataclasses.field(default_factory=lambda: [3e-4, 1e-3, 3e-3])
    frozen: typing.List[float] = dataclasses.field(default_factory=lambda: [3e-4, 1e-3, 3e-3])
    trainable: typing.List[float] = dataclasses.field(default_factory=lambda: [3e-4, 1e-3, 3e-3])

    def validate(self):
        for method in ("scratch", "frozen", "trainable"):
            rates = getattr(self, method)
            check(bool(rates) and all(r > 0 for r in rates),
                  f"train.learning_rates.{method} must list at least one positive rate")


@dataclasses.dataclass
class ReportTrainConfig(RuntimeConfig):
    """How each label-efficiency run trains, and what it chooses on the validation split.

    A run trains for ``max(min_steps, epochs × batches per pass)`` steps and checks the
    validation accuracy ``evaluations`` times on the way; it keeps the weights of the
    best check (the number of steps is chosen on validation, never on test).

    Args:
        batch_size: examples per step (fewer when a run has fewer labelled examples).
        epochs: passes over the labelled examples; a run trains
            ``max(train.min_steps, epochs × batches per pass)`` steps.
        min_steps: steps at least, however few the labels.
        evaluations: validation checks per run; the best check's weights are kept (the
            number of steps is chosen on validation).
        learning_rates: the rates tried per way of training.
        probe_c: the linear probe's inverse regularisation strengths, chosen on validation.
        precision: ``float32``, ``auto``, ``mixed_bfloat16`` or ``mixed_float16``.
        seed: seeds what comes before the runs; each run is seeded by its entry of ``seeds``.
        verbose: Keras progress output of each ``fit`` (0: the one ``[report]`` line per run).
    """

    batch_size: int = 32
    epochs: int = 10
    min_steps: int = 150
    evaluations: int = 10
    learning_rates: ReportLearningRates = dataclasses.field(default_factory=ReportLearningRates)
    probe_c: typing.List[float] = dataclasses.field(default_factory=lambda: [0.001, 0.01, 0.1, 1.0])
    precision: str = "float32"
    verbose: int = 0

    def validate(self):
        check(self.batch_size > 0, "train.batch_size must be positive")
        check(self.epochs > 0 and self.min_steps > 0, "train.epochs and train.min_steps must be positive")
        check(self.evaluations > 0, "train.evaluations must be positive")
        check(bool(self.probe_c) and all(c > 0 for c in self.probe_c), "train.probe_c must list positive values")


@dataclasses.dataclass
class ReportConfig:
    """What every label-efficiency report compares.

    Args:
        labels_per_class: the label counts compared (``null``: every example of the pool).
        methods: the ways of training compared: ``scratch``, ``frozen``, ``trainable``,
            ``linear_probe``; ``[scratch]`` alone needs no backbone.
        seeds: one run per seed: each draws its own labelled subset and initialisation.
        validation_per_class: examples per class held out of the pool as the validation
            split, when the target has no ``validation`` split (the same for every run).
        data_dir: where TFDS keeps prepared data (as for the CNN configs).
        limit: use only the first ``limit`` examples of the pool, the validation and the test
            split (smoke runs).
    """

    def validate(self):
        check(bool(self.backbones) or set(self.methods) == {"scratch"},
              "backbones must list at least one name=path (or methods only [scratch])")
        names = []
        for entry in self.backbones:
            name, sep, path = entry.partition("=")
            check(bool(sep and name.strip() and path.strip()),
                  f"backbones entry {entry!r} is not name=path (e.g. simclr=runs/simclr_pretrain)")
            check(name.strip() != "scratch", "backbones: 'scratch' is a method, not a backbone name: rename it")
            names.append(name.strip())
        check(len(set(names)) == len(names), f"backbones: names must differ, got {names}")
        check(bool(self.methods) and set(self.methods) <= set(REPORT_METHODS),
              f"methods must be a list drawn from {REPORT_METHODS}")
        check(bool(self.labels_per_class) and all(n is None or n > 0 for n in self.labels_per_class),
              "labels_per_class must list positive counts (null: all labels)")
        check(len(set(self.labels_per_class)) == len(self.labels_per_class), "labels_per_class has a repeat")
        check(bool(self.seeds), "seeds must list at least one seed")
        check(self.validation_per_class > 0, "validation_per_class must be positive")
        check(self.limit is None or self.limit > 0, "limit must be positive or null")


@dataclasses.dataclass
class ImageReportConfig(ReportConfig, ImageFolderKeys):
    """The label-efficiency report for CNN backbones: fine-tune on a target image set with
    few labels per class, four ways, over several seeds (``kerapre report image``).

    Args:
        target: the labelled image set (a name, or an image folder): its ``train`` split is
            the pool the labels are drawn from, ``test`` the test set.
        backbones: ``name=path`` entries, each a backbone ``kerapre.load_backbone`` takes (a
            backbone export, a ``.keras`` file, a run directory); names must differ and not
            be ``scratch`` (``--backbone`` replaces the list).
        preset: the CNN built with fresh weights for ``scratch`` (the backbones' shape).
        cut: the layer where a backbone ends (for ``scratch``, ``.keras`` files and runs; an
            export is already cut).
        head: the classification head.
    """

    KEY_PREFIX = ""  # the folder keys are top-level here

    target: str = "mnist_5k"
    backbones: typing.List[str] = dataclasses.field(
        default_factory=lambda: ["supervised=saved_models/cnn_fashion-backbone"]
    )
    labels_per_class: typing.List[typing.Optional[int]] = dataclasses.field(
        default_factory=lambda: [1, 5, 20, 100, None]
    )
    methods: typing.List[str] = dataclasses.field(default_factory=lambda: list(REPORT_METHODS))
    seeds: typing.List[int] = dataclasses.field(default_factory=lambda: [0, 1, 2])
    validation_per_class: int = 50
    preset: str = "cnn_mnist"
    cut: str = "flatten"
    head: HeadConfig = dataclasses.field(default_factory=HeadConfig)
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None
    train: ReportTrainConfig = dataclasses.field(default_factory=ReportTrainConfig)


@dataclasses.dataclass
class TextReportTrainConfig(ReportTrainConfig):
    """How each run of the text report trains.

    Args:
        learning_rates: peak rates of AdamW's warm-up + linear decay, chosen on Rotten
            Tomatoes validation for ``bert_tiny`` (as in ``finetune text``).
        precision: ``auto`` (``mixed_bfloat16`` where the hardware has it, else ``float32``),
            ``float32``, ``mixed_bfloat16`` or ``mixed_float16``.
    """

    epochs: int = 3
    min_steps: int = 60
    evaluations: int = 6
    learning_rates: ReportLearningRates = dataclasses.field(
        default_factory=lambda: ReportLearningRates(scratch=[3e-4], frozen=[1e-3], trainable=[3e-4])
    )
    probe_c: typing.List[float] = dataclasses.field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0])
    precision: str = "auto"


@dataclasses.dataclass
class TextReportConfig(ReportConfig, TextTableKeys):
    """The label-efficiency report for BERT encoders on a text classification set
    (``kerapre report text``).

    Args:
        target: a text classification set (``rotten_tomatoes``, offline, another that
            ``finetune text`` reads, or your own table) with labelled ``train`` and ``test``
            splits (not GLUE, whose test labels are hidden); its ``validation`` split, if
            any, is the validation split.
        backbones: ``name=path`` entries, each an encoder ``kerapre.load_encoder`` takes
            (``finetune text``'s ``--backbone``, except ``scratch``).
        methods: as for ``ImageReportConfig``; ``scratch`` needs a backbone too: it takes the
            first backbone's vocabulary.
        preset: the encoder built with fresh weights for ``scratch``.
        seq_length: tokens per example; longer text is cut.
        lowercase: lowercase before tokenising (an uncased vocabulary); ``null`` follows the
            first backbone.
        dropout: dropout on the pooled output, before the output layer; also the ``scratch``
            encoder's dropout.
        pooling: what the heads and the probe read: ``pooled_output`` or ``mean`` (the mean of
            the token vectors, what sentence-transformers such as ``minilm_l6`` were trained for).
    """

    KEY_PREFIX = ""  # the table keys are top-level here

    target: str = "rotten_tomatoes"
    backbones: typing.List[str] = dataclasses.field(default_factory=lambda: ["pretrained=runs/bert_pretrain"])
    labels_per_class: typing.List[typing.Optional[int]] = dataclasses.field(
        default_factory=lambda: [50, 200, 1000, None]
    )
    methods: typing.List[str] = dataclasses.field(default_factory=lambda: list(REPORT_METHODS))
    seeds: typing.List[int] = dataclasses.field(default_factory=lambda: [0, 1, 2])
    validation_per_class: int = 500
    preset: str = "bert_tiny"
    seq_length: int = 64
    lowercase: typing.Optional[bool] = None
    dropout: float = 0.1
    pooling: str = "pooled_output"
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None
    train: TextReportTrainConfig = dataclasses.field(default_factory=TextReportTrainConfig)

    def validate(self):
        check(self.seq_length > 2, "seq_length must be at least 3 ([CLS] text [SEP])")
        check(self.pooling in ("pooled_output", "mean"), "pooling must be pooled_output or mean")
