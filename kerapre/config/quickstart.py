"""Configs of ``kerapre quickstart``: its CNN, BERT and report stages."""

import dataclasses
import typing

from kerapre.config.bert import BertDataConfig, BertPretrainConfig, BertTrainConfig
from kerapre.config.cnn import CNNPretrainConfig, FinetuneConfig, FinetuneTrainConfig
from kerapre.config.loader import check
from kerapre.config.report import ImageReportConfig, TextReportConfig
from kerapre.config.ssl import SSLDataConfig, SSLPretrainConfig, SSLTrainConfig
from kerapre.config.text import FinetuneTextConfig, TextDataConfig, TextHeadConfig, TextTrainConfig

FINETUNE_METHODS = ("scratch", "frozen", "trainable")


def _check_methods(section, methods, seeds, allow_none=False):
    check((allow_none or bool(methods)) and set(methods) <= set(FINETUNE_METHODS),
          f"{section}.methods must be a list drawn from {FINETUNE_METHODS}")
    check(not methods or bool(seeds), f"{section}.seeds must list at least one seed")


@dataclasses.dataclass
class QuickstartCNNConfig:
    """The quickstart's CNN stage: pretrain on Fashion-MNIST, export, then fine-tune on
    MNIST-5k with few labels, from scratch / frozen / trainable, over several seeds.

    Args:
        pretrain: the source-task pretraining: ``cnn.pretrain.train.epochs``,
            ``cnn.pretrain.data.limit``, ... (keys as [above](#cnnpretrainconfig-keys)).
        finetune: the target-task fine-tuning: ``cnn.finetune.labels_per_class``,
            ``cnn.finetune.train.epochs``, ... (keys as [above](#finetuneconfig-keys));
            ``backbone`` and ``trainable`` are set per method and ``model.cut`` follows
            ``cnn.pretrain.model.cut``; the validation split chooses between frozen and
            trainable for the verdict against scratch.
        methods: which fine-tuning methods to run: ``scratch``, ``frozen``, ``trainable``.
        seeds: one fine-tuning run per method and seed.
        export_name: the name the pretrained model is exported under.
    """

    pretrain: CNNPretrainConfig = dataclasses.field(default_factory=CNNPretrainConfig)
    finetune: FinetuneConfig = dataclasses.field(
        default_factory=lambda: FinetuneConfig(validation_per_class=50, train=FinetuneTrainConfig(verbose=0))
    )
    methods: typing.List[str] = dataclasses.field(default_factory=lambda: list(FINETUNE_METHODS))
    seeds: typing.List[int] = dataclasses.field(default_factory=lambda: [0, 1, 2])
    export_name: str = "cnn_fashion"

    def validate(self):
        _check_methods("cnn", self.methods, self.seeds)


@dataclasses.dataclass
class QuickstartBertConfig:
    """The quickstart's BERT stage: kerapre's own pretraining of ``bert_tiny`` on
    ``wiki_sample``, cut to 100 steps (the mechanics: held-out masked-LM and
    next-sentence accuracy before and after); then, on Rotten Tomatoes, an encoder trained
    from scratch against a published one frozen (a linear probe) and trainable, the best on
    validation exported and answering ``examples`` through the exported ``serving_default``.

    Args:
        pretrain: kerapre's own pretraining run: ``bert.pretrain.train.steps``,
            ``bert.pretrain.model.preset``, ``bert.pretrain.data.extra_corpora``, ... (keys as
            [above](#bertpretrainconfig-keys)).
        finetune: the ``scratch`` run: a fresh ``bert.pretrain.model.preset`` with the
            pretraining run's vocabulary, on every labelled sentence:
            ``bert.finetune.train.epochs``, ... (keys as [above](#finetunetextconfig-keys)).
        published: the published encoder compared (anything ``finetune text --backbone``
            takes; ``minilm_l6`` installs offline).
        published_finetune: the ``trainable`` run on it, and the labelled subset, sequence
            length and pooling its ``frozen`` probe uses (keys as
            [above](#finetunetextconfig-keys); ``backbone`` and ``trainable`` are set).
        probe_c: the probe's inverse regularisation strengths, chosen on validation.
        methods: which ways to run: ``scratch``, ``frozen`` (the probe), ``trainable``
            (``[]``: pretraining only).
        seeds: one run per way and seed.
        export_name: the name the way chosen on validation is exported under
            (``saved_models/rotten_tomatoes{,-hub,-keras}``).
        examples: sentences answered through the exported ``serving_default`` at the end.
    """

    pretrain: BertPretrainConfig = dataclasses.field(
        default_factory=lambda: BertPretrainConfig(
            data=BertDataConfig(dupe_factor=1), train=BertTrainConfig(steps=100, steps_per_epoch=100, verbose=2))
    )
    finetune: FinetuneTextConfig = dataclasses.field(
        default_factory=lambda: FinetuneTextConfig(
            data=TextDataConfig(seq_length=64), train=TextTrainConfig(epochs=3, verbose=2)
        )
    )
    published: str = "minilm_l6"
    published_finetune: FinetuneTextConfig = dataclasses.field(
        default_factory=lambda: FinetuneTextConfig(
            labels_per_class=750, data=TextDataConfig(seq_length=48), head=TextHeadConfig(pooling="mean"),
            train=TextTrainConfig(epochs=2, learning_rate=1e-4, verbose=2),
        )
    )
    probe_c: typing.List[float] = dataclasses.field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0])
    methods: typing.List[str] = dataclasses.field(default_factory=lambda: list(FINETUNE_METHODS))
    seeds: typing.List[int] = dataclasses.field(default_factory=lambda: [0])
    export_name: str = "rotten_tomatoes"
    examples: typing.List[str] = dataclasses.field(
        default_factory=lambda: [
            "A gripping, beautifully acted story that stays with you long after the credits.",
            "Dull, overlong and predictable: the jokes fall flat and the plot goes nowhere.",
        ]
    )

    def validate(self):
        _check_methods("bert", self.methods, self.seeds, allow_none=True)
        check(bool(self.examples), "bert.examples must list at least one sentence")
        check(bool(self.probe_c) and all(c > 0 for c in self.probe_c), "bert.probe_c must list positive values")
        check(bool(self.published), "bert.published must name an encoder (e.g. minilm_l6)")


def _mnist_pool_ssl(method):
    return SSLPretrainConfig(method=method, data=SSLDataConfig(name="mnist_5k"),
                             train=SSLTrainConfig(epochs=60, verbose=2))


def _published_text_report():
    """The text report of the full form: mean pooling (what ``minilm_l6`` was trained for), and
    1e-4 tried beside bert_tiny's 3e-4 for a trainable encoder (MiniLM's, chosen on validation)."""
    report = TextReportConfig(pooling="mean")
    report.train.learning_rates.trainable = [1e-4, 3e-4]
    return report


@dataclasses.dataclass
class QuickstartReportConfig:
    """The quickstart's report stage: what pretraining buys at few labels per class.

    It pretrains SimCLR on the images of the MNIST-5k labelled pool (labels dropped), then
    writes the label-efficiency report on MNIST-5k for that backbone and the CNN stage's
    supervised Fashion-MNIST one. The quick form (default) compares
    ``quick_labels_per_class`` with one learning rate; ``full: true``
    (``kerapre quickstart --full-report``) runs ``image`` as configured (1, 5, 20, 100 and
    all labels per class, the learning-rate grid), adds the rotation backbone, and the
    BERT report (``text``) on the BERT stage's encoder when that stage has run.

    Args:
        full: run the full report instead of the quick form (``--full-report`` sets it).
        simclr: the SimCLR pretraining on the MNIST-5k pool's images:
            ``report.simclr.train.epochs``, ``report.simclr.data.batch_size``, ... (keys as
            [above](#sslpretrainconfig-keys)).
        rotation: the rotation pretraining (full report only).
        image: the MNIST-5k report: ``report.image.seeds``, ``report.image.train.min_steps``,
            ... (keys as [above](#imagereportconfig-keys)); ``backbones`` is set by the stage,
            and the quick form also sets ``labels_per_class`` and the learning rates.
        text: the Rotten Tomatoes report of the full form (keys as
            [above](#textreportconfig-keys)); ``backbones`` is set to the ``bert`` stage's run and
            the published encoder (``bert.published``).
        quick_labels_per_class: the label counts of the quick form.
        quick_learning_rate: the one learning rate of the quick form, for ``scratch``,
            ``frozen`` and ``trainable`` (the number of steps is still chosen on validation).
    """

    full: bool = False
    simclr: SSLPretrainConfig = dataclasses.field(default_factory=lambda: _mnist_pool_ssl("simclr"))
    rotation: SSLPretrainConfig = dataclasses.field(default_factory=lambda: _mnist_pool_ssl("rotation"))
    image: ImageReportConfig = dataclasses.field(default_factory=ImageReportConfig)
    text: TextReportConfig = dataclasses.field(default_factory=lambda: _published_text_report())
    quick_labels_per_class: typing.List[int] = dataclasses.field(default_factory=lambda: [5, 20])
    quick_learning_rate: float = 1e-3

    def validate(self):
        check(bool(self.quick_labels_per_class) and all(n > 0 for n in self.quick_labels_per_class),
              "report.quick_labels_per_class must list positive counts")
        check(self.quick_learning_rate > 0, "report.quick_learning_rate must be positive")


@dataclasses.dataclass
class QuickstartConfig:
    """Every stage of ``kerapre quickstart``."""

    cnn: QuickstartCNNConfig = dataclasses.field(default_factory=QuickstartCNNConfig)
    bert: QuickstartBertConfig = dataclasses.field(default_factory=QuickstartBertConfig)
    report: QuickstartReportConfig = dataclasses.field(default_factory=QuickstartReportConfig)
