"""Typed experiment configs: dataclasses that load from YAML and take ``key=value`` overrides.

An experiment is data. Each workflow (CNN pretraining, image fine-tuning, ...) has a
config dataclass made of sections (``data``, ``model``, ``train``); a config is
validated before any training starts and saved next to the outputs it produced.

Examples:

```python
from kerapre.config import CNNPretrainConfig, load_config

config = load_config(CNNPretrainConfig, overrides=["train.epochs=1", "data.batch_size=32"])
config.train.epochs  # 1
```
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing

import yaml

from kerapre.errors import ConfigError

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker_mirrored", "tpu")
OPTIMIZERS = ("adam", "adamw", "sgd")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


# === Sections ===


@dataclasses.dataclass
class DataConfig:
    """Where the examples come from and how they are batched.

    Args:
        name: a kerapre data set (``fashion_mnist_local``, ``mnist_5k``) or any TFDS name.
        train_split: the TFDS split (slicing allowed, e.g. ``train[:90%]``) to train on.
        eval_split: the split to evaluate on.
        batch_size: examples per replica; the global batch is this times the replicas.
        data_dir: where TFDS keeps prepared data (default: ``$KERAPRE_DATA_DIR`` or
            ``~/.cache/kerapre/tensorflow_datasets`` for kerapre's local sets, TFDS's own
            ``~/tensorflow_datasets`` for online ones).
        limit: use only the first ``limit`` examples of each split (for smoke runs).
    """

    name: str = "fashion_mnist_local"
    train_split: str = "train"
    eval_split: str = "test"
    batch_size: int = 64
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None

    def validate(self):
        _check(self.batch_size > 0, "data.batch_size must be positive")
        _check(self.limit is None or self.limit > 0, "data.limit must be positive or null")


@dataclasses.dataclass
class ModelConfig:
    """Which model to build.

    Args:
        preset: a model preset name (see ``kerapre.models.list_presets()``).
        cut: the name of the layer where the backbone ends; ``flatten`` transfers best
            for the CNNs (a frozen ``dense_1`` inside the backbone lost ~24 points).
    """

    preset: str = "cnn_mnist"
    cut: str = "flatten"

    def validate(self):
        from kerapre.models import cnn

        _check(
            self.preset in cnn.PRESETS,
            f"unknown model.preset {self.preset!r}: choose one of {sorted(cnn.PRESETS)}",
        )
        names = cnn.layer_names(self.preset)
        _check(self.cut in names, f"model.cut {self.cut!r} is not a layer of {self.preset}: choose one of {names}")


@dataclasses.dataclass
class TrainConfig:
    """How ``model.fit`` runs.

    Args:
        epochs: passes over the training split.
        learning_rate: peak learning rate.
        optimizer: ``adam``, ``adamw`` or ``sgd``.
        weight_decay: decoupled weight decay for ``adamw``.
        strategy: a ``tf.distribute`` strategy name (see ``kerapre.distribute``).
        precision: ``auto`` picks bfloat16 where the hardware has it (TPU); ``float32``,
            ``mixed_bfloat16`` or ``mixed_float16`` force one.
        jit_compile: compile the train step with XLA (off: it measured slower here).
        steps_per_execution: train steps per ``tf.function`` call.
        seed: seeds weights, shuffling and the label subset.
        verbose: Keras progress output (1 = bar, 2 = one line per epoch, 0 = quiet).
    """

    epochs: int = 2
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    strategy: str = "auto"
    precision: str = "float32"
    jit_compile: bool = False
    steps_per_execution: int = 1
    seed: int = 0
    verbose: int = 1

    def validate(self):
        _check(self.epochs > 0, "train.epochs must be positive")
        _check(self.learning_rate > 0, "train.learning_rate must be positive")
        _check_run_settings(self)


@dataclasses.dataclass
class CNNTrainConfig(TrainConfig):
    """How CNN pretraining runs: ``TrainConfig`` with the settings measured fastest for the
    CNN at the same accuracy (``benchmarks/cnn_training.py``: 3.07x the Keras tutorial
    recipe's images/s per step on Fashion-MNIST, test accuracy within its seed spread), and
    a backup to resume from.

    Args:
        learning_rate: 3e-3, scaled for the batch of 256 (``CNNPretrainConfig.data``).
        precision: ``auto`` (bfloat16 where the hardware computes it natively).
        steps_per_execution: 8 train steps per ``tf.function`` call.
        backup: back up the whole training state (weights, optimizer, position in the data)
            in ``model_dir/backup`` after every epoch; started again after a crash, the run
            continues from there and ends as an uninterrupted one would. Removed when the run
            completes.
    """

    learning_rate: float = 3e-3
    precision: str = "auto"
    steps_per_execution: int = 8
    backup: bool = True


# === Experiments ===


@dataclasses.dataclass
class CNNPretrainConfig:
    """Supervised pretraining of a CNN backbone on a source task (Fashion-MNIST by default),
    256 images per replica per step."""

    data: DataConfig = dataclasses.field(default_factory=lambda: DataConfig(batch_size=256))
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: CNNTrainConfig = dataclasses.field(default_factory=CNNTrainConfig)


SSL_METHODS = ("simclr", "rotation")


@dataclasses.dataclass
class SSLDataConfig:
    """The unlabelled images of self-supervised pretraining: labels are never read.

    Args:
        name: a kerapre data set (``fashion_mnist_local``, ``mnist_5k``) or any TFDS set with
            an image feature.
        split: the split to pretrain on (TFDS syntax, slicing allowed).
        batch_size: images per replica; each replica contrasts only its own images.
        data_dir: where TFDS keeps prepared data (as for ``DataConfig``).
        limit: use only the first ``limit`` images (for smoke runs).
        exclude: ``name:split`` entries never to pretrain on, e.g. the images a later
            evaluation tests on; any slice of an excluded split (or ``all``) is refused too.
    """

    name: str = "fashion_mnist_local"
    split: str = "train"
    batch_size: int = 128
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None
    exclude: typing.List[str] = dataclasses.field(default_factory=lambda: ["mnist_5k:test"])

    def validate(self):
        _check(self.batch_size > 1, "data.batch_size must be at least 2 (an image needs others to contrast with)")
        _check(self.limit is None or self.limit > 0, "data.limit must be positive or null")
        for entry in self.exclude:
            _check(entry.count(":") == 1, f"data.exclude entry {entry!r} is not name:split (e.g. mnist_5k:test)")
        splits = {part.split("[")[0].strip() for part in self.split.split("+")}
        for entry in self.exclude:
            name, split = entry.split(":")
            _check(
                self.name != name or not (splits & {split, "all"}),
                f"data.split {self.split!r} of {self.name} is excluded as an unlabelled source "
                f"(data.exclude has {entry}: images an evaluation tests on): pretrain on another split, e.g. train",
            )


@dataclasses.dataclass
class SSLModelConfig(ModelConfig):
    """The backbone and the self-supervised head.

    Args:
        preset: a CNN preset (``cnn_mnist``, ``cnn_cifar``).
        cut: the layer where the backbone ends (as for ``ModelConfig``).
        projection_dim: width of the SimCLR projection head.
        temperature: the NT-Xent temperature of SimCLR.
        head_units: hidden units of the rotation head (0: linear).
        rotations: ``random`` (one rotation per image) or ``all`` (all four per image).
    """

    projection_dim: int = 128
    temperature: float = 0.1
    head_units: int = 128
    rotations: str = "random"

    def validate(self):
        super().validate()
        _check(self.projection_dim > 0, "model.projection_dim must be positive")
        _check(self.temperature > 0, "model.temperature must be positive")
        _check(self.head_units >= 0, "model.head_units must be >= 0")
        _check(self.rotations in ("random", "all"), "model.rotations must be random or all")


@dataclasses.dataclass
class AugmentConfig:
    """How SimCLR draws two views of an image (see ``kerapre.tasks.contrastive.simclr_augmenter``).

    Args:
        crop_area: smallest fraction of the image area a random crop keeps (1: no crop).
        translation: largest random shift, as a fraction of the image size.
        noise: standard deviation of Gaussian noise on a 0-1 pixel scale.
        contrast: random contrast factor range, ``[1 - contrast, 1 + contrast]``.
        flip: random left-right flips (off: they change digits).
    """

    crop_area: float = 0.5
    translation: float = 0.15
    noise: float = 0.05
    contrast: float = 0.4
    flip: bool = False

    def validate(self):
        _check(0 < self.crop_area <= 1, "augment.crop_area must be in (0, 1]")
        _check(0 <= self.translation < 1, "augment.translation must be in [0, 1)")
        _check(0 <= self.noise <= 1, "augment.noise must be in [0, 1]")
        _check(0 <= self.contrast < 1, "augment.contrast must be in [0, 1)")


@dataclasses.dataclass
class SSLPretrainConfig:
    """Self-supervised pretraining of a CNN backbone on unlabelled images.

    Args:
        method: ``simclr`` (contrastive, two augmented views) or ``rotation`` (predict
            0/90/180/270 degrees).
    """

    method: str = "simclr"
    data: SSLDataConfig = dataclasses.field(default_factory=SSLDataConfig)
    model: SSLModelConfig = dataclasses.field(default_factory=SSLModelConfig)
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(epochs=5))

    def validate(self):
        _check(self.method in SSL_METHODS, f"method must be one of {SSL_METHODS}, got {self.method!r}")


@dataclasses.dataclass
class HeadConfig:
    """The new head put on a reloaded backbone.

    Args:
        units: hidden Dense units (0 for a linear head).
        dropout: dropout before the output layer.
    """

    units: int = 128
    dropout: float = 0.0

    def validate(self):
        _check(self.units >= 0, "head.units must be >= 0")
        _check(0 <= self.dropout < 1, "head.dropout must be in [0, 1)")


@dataclasses.dataclass
class FinetuneConfig:
    """Fine-tuning a reloaded backbone (or one built from scratch) on a small labelled set.

    Args:
        backbone: an export, a ``.keras`` file or a run directory; ``scratch`` builds
            ``model.preset`` with fresh weights.
        trainable: fine-tune the backbone weights too (``False`` freezes them).
        labels_per_class: keep only this many labelled examples per class (null: all).
        two_phase: train the head with the backbone frozen first, then unfreeze it.
        unfreeze_learning_rate: the learning rate of the second phase.
        unfreeze_epochs: epochs of the second phase.
    """

    backbone: str = "scratch"
    trainable: bool = False
    labels_per_class: typing.Optional[int] = 20
    two_phase: bool = False
    unfreeze_learning_rate: float = 1e-4
    unfreeze_epochs: int = 10
    data: DataConfig = dataclasses.field(
        default_factory=lambda: DataConfig(name="mnist_5k", batch_size=32)
    )
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    head: HeadConfig = dataclasses.field(default_factory=HeadConfig)
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=30, verbose=0)
    )

    def validate(self):
        _check(
            self.labels_per_class is None or self.labels_per_class > 0,
            "labels_per_class must be positive or null",
        )
        _check(self.unfreeze_learning_rate > 0, "unfreeze_learning_rate must be positive")
        _check(
            not (self.two_phase and not self.trainable),
            "two_phase unfreezes the backbone in its second phase: set trainable=true or two_phase=false",
        )


@dataclasses.dataclass
class BertDataConfig:
    """The text a BERT encoder is pretrained on, and how pairs are made and masked.

    Args:
        corpus: ``wiki_sample``, another TFDS name with a text feature, a text file in
            BERT format (one sentence per line, a blank line between documents), a glob
            or a directory of them.
        train_split: the split to train on (TFDS syntax; ignored for files).
        eval_split: the held-out split of a TFDS corpus (null: no held-out evaluation).
        eval_corpus: a separate held-out corpus (e.g. a text file); text-file corpora have
            no splits, so without it they get no held-out evaluation.
        extra_corpora: more training sources (e.g. ``[lee_news]``), each paired on its own
            (both halves of a pair always come from one source) and mixed in proportion
            to their pair counts; their ``train_split`` is used.
        text_key: the text feature of a TFDS corpus.
        vocab: an existing ``vocab.txt``; null learns one from the training split.
        vocab_size: size of a learned vocabulary.
        seq_length: tokens per pair, ``[CLS] A [SEP] B [SEP]`` and padding.
        max_predictions: masked positions per sequence.
        mask_rate: fraction of tokens predicted.
        whole_word_masking: mask every WordPiece of a chosen word together.
        short_seq_prob: probability of a shorter target length (BERT's recipe).
        dupe_factor: how many times the training split is paired (with new segment draws).
        batch_size: pairs per replica per step.
        data_dir: where TFDS keeps prepared data.
    """

    corpus: str = "wiki_sample"
    train_split: str = "train"
    eval_split: typing.Optional[str] = "test"
    eval_corpus: typing.Optional[str] = None
    extra_corpora: typing.List[str] = dataclasses.field(default_factory=list)
    text_key: str = "text"
    vocab: typing.Optional[str] = None
    vocab_size: int = 8192
    seq_length: int = 128
    max_predictions: int = 20
    mask_rate: float = 0.15
    whole_word_masking: bool = False
    short_seq_prob: float = 0.1
    dupe_factor: int = 5
    batch_size: int = 32
    data_dir: typing.Optional[str] = None

    def validate(self):
        _check(self.vocab_size >= 100, "data.vocab_size must be at least 100")
        _check(8 <= self.seq_length <= 512, "data.seq_length must be in [8, 512]")
        _check(0 < self.max_predictions < self.seq_length, "data.max_predictions must be in (0, seq_length)")
        _check(0 < self.mask_rate < 1, "data.mask_rate must be in (0, 1)")
        _check(0 <= self.short_seq_prob <= 1, "data.short_seq_prob must be in [0, 1]")
        _check(self.dupe_factor > 0, "data.dupe_factor must be positive")
        _check(self.batch_size > 0, "data.batch_size must be positive")


@dataclasses.dataclass
class BertModelConfig:
    """Which encoder to pretrain.

    Args:
        preset: ``bert_tiny``, ``bert_mini``, ``bert_small``, ``bert_medium`` or ``bert_base``.
        dropout: dropout rate of the encoder.
        init: continue from weights: a keras-hub preset directory (``save_to_preset``), a
            kerapre BERT run directory or its ``pretrainer.keras``; null starts from scratch.
        next_sentence: train the next-sentence head too (false: masked-LM only).
    """

    preset: str = "bert_tiny"
    dropout: float = 0.1
    init: typing.Optional[str] = None
    next_sentence: bool = True

    def validate(self):
        _check_bert_model(self)


@dataclasses.dataclass
class BertTrainConfig:
    """How BERT pretraining runs: step-based, in short virtual epochs.

    Args:
        steps: total optimizer steps.
        steps_per_epoch: steps between evaluations, checkpoints and CSV rows.
        warmup_steps: linear warm-up before the linear decay to zero (null: 10% of steps).
        decay: ``linear`` (to zero at ``steps``, BERT's schedule) or ``constant`` after warm-up.
        learning_rate: peak learning rate.
        optimizer: ``adamw`` (default), ``adam`` or ``sgd``.
        weight_decay: AdamW's decoupled weight decay (not on LayerNorm or biases).
        clipnorm: global gradient-norm clipping (null: none).
        strategy: a ``tf.distribute`` strategy name.
        precision: ``auto`` (bfloat16 where the hardware has it), ``float32``,
            ``mixed_bfloat16`` or ``mixed_float16``.
        jit_compile: XLA for the train step.
        steps_per_execution: train steps per ``tf.function`` call.
        eval_batches: held-out batches per evaluation (null: the whole split).
        seed: seeds weights, pairing, shuffling and masking.
        verbose: Keras progress output.
        backup: back up the whole training state (weights, optimizer, position in the data)
            in ``model_dir/backup`` after every virtual epoch; started again after a crash,
            the run continues from there and ends as an uninterrupted one would.
    """

    steps: int = 3000
    steps_per_epoch: int = 250
    warmup_steps: typing.Optional[int] = None
    decay: str = "linear"
    learning_rate: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float = 0.01
    clipnorm: typing.Optional[float] = 1.0
    strategy: str = "auto"
    precision: str = "auto"
    jit_compile: bool = False
    steps_per_execution: int = 1
    eval_batches: typing.Optional[int] = None
    seed: int = 0
    verbose: int = 1
    backup: bool = True

    def validate(self):
        _check(self.steps > 0, "train.steps must be positive")
        _check(self.steps_per_epoch > 0, "train.steps_per_epoch must be positive")
        per_call = max(1, self.steps_per_execution)
        _check(
            self.steps_per_epoch % per_call == 0,
            f"train.steps_per_epoch {self.steps_per_epoch} is not a multiple of train.steps_per_execution "
            f"{self.steps_per_execution} (Keras would run whole calls, more steps per epoch): make it one, e.g. "
            f"{self.steps_per_epoch - self.steps_per_epoch % per_call or per_call}",
        )
        _check(
            self.warmup_steps is None or 0 <= self.warmup_steps < self.steps,
            "train.warmup_steps must be in [0, steps) or null",
        )
        _check(self.decay in ("linear", "constant"), "train.decay must be linear or constant")
        _check(self.learning_rate > 0, "train.learning_rate must be positive")
        _check_run_settings(self)


@dataclasses.dataclass
class BertPretrainConfig:
    """Masked-LM + next-sentence pretraining of a BERT encoder."""

    data: BertDataConfig = dataclasses.field(default_factory=BertDataConfig)
    model: BertModelConfig = dataclasses.field(default_factory=BertModelConfig)
    train: BertTrainConfig = dataclasses.field(default_factory=BertTrainConfig)


@dataclasses.dataclass
class QuickstartCNNConfig:
    """The quickstart's CNN stage: pretrain on Fashion-MNIST, export, then fine-tune on
    MNIST-5k with few labels, from scratch / frozen / trainable, over several seeds.

    Args:
        pretrain: the source-task pretraining.
        finetune: the target-task fine-tuning (``backbone`` and ``trainable`` are set
            per method).
        methods: any of ``scratch``, ``frozen``, ``trainable``.
        seeds: one fine-tuning run per method and seed.
        export_name: the name the pretrained model is exported under.
    """

    pretrain: CNNPretrainConfig = dataclasses.field(default_factory=CNNPretrainConfig)
    finetune: FinetuneConfig = dataclasses.field(default_factory=FinetuneConfig)
    methods: typing.List[str] = dataclasses.field(default_factory=lambda: ["scratch", "frozen", "trainable"])
    seeds: typing.List[int] = dataclasses.field(default_factory=lambda: [0, 1, 2])
    export_name: str = "cnn_fashion"

    def validate(self):
        known = ("scratch", "frozen", "trainable")
        _check(self.methods and set(self.methods) <= set(known), f"cnn.methods must be a list drawn from {known}")
        _check(bool(self.seeds), "cnn.seeds must list at least one seed")


@dataclasses.dataclass
class QuickstartBertConfig:
    """The quickstart's BERT stage: pretrain ``bert_tiny`` on ``wiki_sample`` and report
    held-out masked-LM and next-sentence accuracy before and after; then fine-tune it on
    Rotten Tomatoes (frozen and trainable) and from scratch with the same budget, pick the
    best on the validation split, export it for TF Serving and answer ``examples`` through
    the exported ``serving_default``.

    Args:
        pretrain: the pretraining run.
        finetune: the fine-tuning runs (``backbone`` and ``trainable`` are set per method;
            a null ``train.learning_rate`` takes each method's default).
        methods: any of ``scratch``, ``frozen``, ``trainable`` (empty: pretraining only).
        seeds: one fine-tuning run per method and seed.
        export_name: the name the chosen classifier is exported under.
        examples: sentences answered through the exported ``serving_default``.
    """

    pretrain: BertPretrainConfig = dataclasses.field(
        default_factory=lambda: BertPretrainConfig(train=BertTrainConfig(steps=2000, verbose=2))
    )
    finetune: "FinetuneTextConfig" = dataclasses.field(
        default_factory=lambda: FinetuneTextConfig(
            data=TextDataConfig(seq_length=64), train=TextTrainConfig(epochs=3, verbose=2)
        )
    )
    methods: typing.List[str] = dataclasses.field(default_factory=lambda: ["scratch", "frozen", "trainable"])
    seeds: typing.List[int] = dataclasses.field(default_factory=lambda: [0])
    export_name: str = "rotten_tomatoes"
    examples: typing.List[str] = dataclasses.field(
        default_factory=lambda: [
            "A gripping, beautifully acted story that stays with you long after the credits.",
            "Dull, overlong and predictable: the jokes fall flat and the plot goes nowhere.",
        ]
    )

    def validate(self):
        known = ("scratch", "frozen", "trainable")
        _check(set(self.methods) <= set(known), f"bert.methods must be a list drawn from {known}")
        _check(not self.methods or bool(self.seeds), "bert.seeds must list at least one seed")
        _check(bool(self.examples), "bert.examples must list at least one sentence")


def _mnist_pool_ssl(method):
    return SSLPretrainConfig(method=method, data=SSLDataConfig(name="mnist_5k"), train=TrainConfig(epochs=60, verbose=2))


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
        full: run the full report instead of the quick form.
        simclr: the SimCLR pretraining.
        rotation: the rotation pretraining (full report only).
        image: the CNN report (``backbones`` is filled in by the stage).
        text: the BERT report (``backbones`` is filled in by the stage).
        quick_labels_per_class: the label counts of the quick form.
        quick_learning_rate: the one learning rate of the quick form (steps are still
            chosen on validation).
    """

    full: bool = False
    simclr: SSLPretrainConfig = dataclasses.field(default_factory=lambda: _mnist_pool_ssl("simclr"))
    rotation: SSLPretrainConfig = dataclasses.field(default_factory=lambda: _mnist_pool_ssl("rotation"))
    image: "ImageReportConfig" = dataclasses.field(default_factory=lambda: ImageReportConfig())
    text: "TextReportConfig" = dataclasses.field(default_factory=lambda: TextReportConfig())
    quick_labels_per_class: typing.List[int] = dataclasses.field(default_factory=lambda: [5, 20])
    quick_learning_rate: float = 1e-3

    def validate(self):
        _check(bool(self.quick_labels_per_class) and all(n > 0 for n in self.quick_labels_per_class),
               "report.quick_labels_per_class must list positive counts")
        _check(self.quick_learning_rate > 0, "report.quick_learning_rate must be positive")


@dataclasses.dataclass
class QuickstartConfig:
    """Every stage of ``kerapre quickstart``."""

    cnn: QuickstartCNNConfig = dataclasses.field(default_factory=QuickstartCNNConfig)
    bert: QuickstartBertConfig = dataclasses.field(default_factory=QuickstartBertConfig)
    report: QuickstartReportConfig = dataclasses.field(default_factory=QuickstartReportConfig)


@dataclasses.dataclass
class TextDataConfig:
    """The labelled text a BERT encoder is fine-tuned on, and how it is tokenised and batched.

    Args:
        name: ``rotten_tomatoes`` (offline), ``glue/sst2``, ``imdb_reviews`` or another TFDS
            text classification set.
        train_split: the split to train on (TFDS syntax, slicing allowed).
        validation_split: the split evaluated after every epoch and at the end (null: none).
        test_split: the split evaluated once at the end (null: none).
        seq_length: tokens per example, ``[CLS] text [SEP]`` and padding; longer text is cut.
        dynamic_padding: pad each batch only to its longest example (at most
            ``seq_length``): short texts train several times faster, with the same outputs
            (padding is masked). Ignored on TPUs, which need static shapes.
        bucket_by_length: with ``dynamic_padding``, train on batches of similar-length
            examples (every 32 batches' worth of shuffled examples sorted by length, the
            batches then shuffled), so batches pad less: 1.4-1.5x the training steps' throughput
            on Rotten Tomatoes, test accuracy within the seed spread (``benchmarks/bert_finetuning.py``).
        batch_size: examples per replica per step.
        vocab: a ``vocab.txt``; required for ``backbone: scratch``; for a pretrained backbone
            null takes the ``vocab.txt`` beside it.
        lowercase: the vocabulary is uncased (lower-case and strip accents).
        data_dir: where TFDS keeps prepared data.
        limit: use only the first ``limit`` examples of each split (for smoke runs).
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
    lowercase: bool = True
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None

    def validate(self):
        _check(8 <= self.seq_length <= 512, "data.seq_length must be in [8, 512]")
        _check(self.batch_size > 0, "data.batch_size must be positive")
        _check(self.limit is None or self.limit > 0, "data.limit must be positive or null")


@dataclasses.dataclass
class TextModelConfig:
    """The encoder built when ``backbone`` is ``scratch`` (ignored otherwise).

    Args:
        preset: ``bert_tiny``, ``bert_mini``, ``bert_small``, ``bert_medium`` or ``bert_base``.
        dropout: dropout rate inside the encoder.
    """

    preset: str = "bert_tiny"
    dropout: float = 0.1

    def validate(self):
        _check_bert_model(self)


@dataclasses.dataclass
class TextHeadConfig:
    """The classification head put on the encoder's pooled output.

    Args:
        dropout: dropout before the output layer.
    """

    dropout: float = 0.1

    def validate(self):
        _check(0 <= self.dropout < 1, "head.dropout must be in [0, 1)")


@dataclasses.dataclass
class TextTrainConfig:
    """How text fine-tuning runs: ``epochs`` passes with warm-up and linear decay.

    Args:
        epochs: passes over the training split.
        learning_rate: peak learning rate; null picks the rate chosen on Rotten Tomatoes
            validation for bert_tiny: 3e-4 for a trainable encoder, pretrained or from
            scratch, and 1e-3 for a frozen one (only the head learns); a trainable encoder
            of hidden size 512 or more gets BERT's fine-tuning rate, 5e-5.
        warmup_fraction: share of the steps spent warming up before the linear decay to 0.
        optimizer: ``adamw`` (default), ``adam`` or ``sgd``.
        weight_decay: AdamW's decoupled weight decay (not on LayerNorm or biases).
        clipnorm: global gradient-norm clipping (null: none).
        strategy: a ``tf.distribute`` strategy name.
        precision: ``auto`` (bfloat16 where the hardware has it), ``float32``,
            ``mixed_bfloat16`` or ``mixed_float16``.
        jit_compile: XLA for the train step.
        steps_per_execution: train steps per ``tf.function`` call.
        seed: seeds the head, dropout, shuffling and the label subset.
        verbose: Keras progress output (1 = bar, 2 = one line per epoch, 0 = quiet).
    """

    epochs: int = 3
    learning_rate: typing.Optional[float] = None
    warmup_fraction: float = 0.1
    optimizer: str = "adamw"
    weight_decay: float = 0.01
    clipnorm: typing.Optional[float] = 1.0
    strategy: str = "auto"
    precision: str = "auto"
    jit_compile: bool = False
    steps_per_execution: int = 1
    seed: int = 0
    verbose: int = 1

    def validate(self):
        _check(self.epochs > 0, "train.epochs must be positive")
        _check(self.learning_rate is None or self.learning_rate > 0, "train.learning_rate must be positive or null")
        _check(0 <= self.warmup_fraction < 1, "train.warmup_fraction must be in [0, 1)")
        _check_run_settings(self)


@dataclasses.dataclass
class FinetuneTextConfig:
    """Fine-tuning a BERT encoder (pretrained, or built from scratch) to classify text.

    Args:
        backbone: where the pretrained encoder comes from: a kerapre BERT pretraining run
            directory (or its checkpoint ``.weights.h5``), a ``.keras`` export, a TF Hub
            export, a ``finetune text`` run, a keras-hub preset directory (anything
            ``load_encoder`` takes), or ``scratch`` to build ``model.preset`` with fresh
            weights (then ``data.vocab`` is required).
        trainable: fine-tune the encoder weights too (``false`` freezes them: only the
            head trains).
        labels_per_class: keep only this many labelled training examples per class
            (null: all).
    """

    backbone: str = "runs/bert_pretrain"
    trainable: bool = True
    labels_per_class: typing.Optional[int] = None
    data: TextDataConfig = dataclasses.field(default_factory=TextDataConfig)
    model: TextModelConfig = dataclasses.field(default_factory=TextModelConfig)
    head: TextHeadConfig = dataclasses.field(default_factory=TextHeadConfig)
    train: TextTrainConfig = dataclasses.field(default_factory=TextTrainConfig)

    def validate(self):
        _check(bool(self.backbone), "backbone must be a BERT run directory, a pretrainer.keras or scratch")
        _check(
            self.labels_per_class is None or self.labels_per_class > 0,
            "labels_per_class must be positive or null",
        )
        _check(
            self.backbone != "scratch" or bool(self.data.vocab),
            "backbone=scratch needs a vocabulary: set data.vocab to a vocab.txt",
        )


REPORT_METHODS = ("scratch", "frozen", "trainable", "linear_probe")


@dataclasses.dataclass
class ReportLearningRates:
    """The learning rates a label-efficiency run tries for each way of training; it keeps
    the one whose best validation accuracy is highest (the linear probe chooses its
    regularisation instead, from ``train.probe_c``).

    Args:
        scratch: rates for a fresh backbone of the same shape.
        frozen: rates for the head on a frozen pretrained backbone.
        trainable: rates for a pretrained backbone trained with its head.
    """

    scratch: typing.List[float] = dataclasses.field(default_factory=lambda: [3e-4, 1e-3, 3e-3])
    frozen: typing.List[float] = dataclasses.field(default_factory=lambda: [3e-4, 1e-3, 3e-3])
    trainable: typing.List[float] = dataclasses.field(default_factory=lambda: [3e-4, 1e-3, 3e-3])

    def validate(self):
        for method in ("scratch", "frozen", "trainable"):
            rates = getattr(self, method)
            _check(bool(rates) and all(r > 0 for r in rates),
                   f"train.learning_rates.{method} must list at least one positive rate")


@dataclasses.dataclass
class ReportTrainConfig:
    """How each label-efficiency run trains, and what it chooses on the validation split.

    A run trains for ``max(min_steps, epochs × batches per pass)`` steps and checks the
    validation accuracy ``evaluations`` times on the way; it keeps the weights of the
    best check (the number of steps is chosen on validation, never on test).

    Args:
        batch_size: examples per step (fewer when there are fewer labelled examples).
        epochs: passes over the labelled examples.
        min_steps: steps at least, however few the labels.
        evaluations: validation checks per run.
        learning_rates: the rates tried per way of training.
        probe_c: inverse regularisation strengths the linear probe tries.
        precision: ``float32``, ``auto``, ``mixed_bfloat16`` or ``mixed_float16``.
        verbose: Keras progress output of each ``fit`` (0: one line per run).
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
        _check(self.batch_size > 0, "train.batch_size must be positive")
        _check(self.epochs > 0 and self.min_steps > 0, "train.epochs and train.min_steps must be positive")
        _check(self.evaluations > 0, "train.evaluations must be positive")
        _check(bool(self.probe_c) and all(c > 0 for c in self.probe_c), "train.probe_c must list positive values")
        _check(self.precision in PRECISIONS, f"train.precision must be one of {PRECISIONS}")


def _check_report(config):
    _check(bool(config.backbones) or set(config.methods) == {"scratch"},
           "backbones must list at least one name=path (or methods only [scratch])")
    names = []
    for entry in config.backbones:
        name, sep, path = entry.partition("=")
        _check(bool(sep and name.strip() and path.strip()),
               f"backbones entry {entry!r} is not name=path (e.g. simclr=runs/simclr_pretrain)")
        _check(name.strip() != "scratch", "backbones: 'scratch' is a method, not a backbone name: rename it")
        names.append(name.strip())
    _check(len(set(names)) == len(names), f"backbones: names must differ, got {names}")
    _check(bool(config.methods) and set(config.methods) <= set(REPORT_METHODS),
           f"methods must be a list drawn from {REPORT_METHODS}")
    _check(bool(config.labels_per_class) and all(n is None or n > 0 for n in config.labels_per_class),
           "labels_per_class must list positive counts (null: all labels)")
    _check(len(set(config.labels_per_class)) == len(config.labels_per_class), "labels_per_class has a repeat")
    _check(bool(config.seeds), "seeds must list at least one seed")
    _check(config.validation_per_class > 0, "validation_per_class must be positive")
    _check(config.limit is None or config.limit > 0, "limit must be positive or null")


@dataclasses.dataclass
class ImageReportConfig:
    """The label-efficiency report for CNN backbones: fine-tune on a target image set with
    few labels per class, four ways, over several seeds (``kerapre report image``).

    Args:
        target: the labelled image set (its ``train`` split is the labelled pool, ``test``
            the test set).
        backbones: ``name=path`` entries, each a pretrained backbone ``load_backbone``
            takes (export, ``.keras`` file, run directory).
        labels_per_class: the label counts compared (null: every label of the pool).
        methods: any of ``scratch``, ``frozen``, ``trainable``, ``linear_probe``.
        seeds: each seed draws its own labelled subset and initialisation.
        validation_per_class: the target's validation split, or when it has none this
            many examples per class held out of the pool (the same for every run).
        preset: the CNN preset trained from scratch (the backbones' shape).
        cut: the layer where a backbone ends.
        head: the classification head.
        data_dir: where TFDS keeps prepared data.
        limit: use only the first ``limit`` examples of the pool, validation and test
            splits (for smoke runs; null: all).
    """

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

    def validate(self):
        _check_report(self)


@dataclasses.dataclass
class TextReportConfig:
    """The label-efficiency report for BERT encoders on a text classification set
    (``kerapre report text``); keys as for ``ImageReportConfig``.

    Args:
        preset: the BERT preset trained from scratch (with the first backbone's vocabulary).
        seq_length: tokens per example.
        lowercase: lowercase before tokenising.
        dropout: dropout on the pooled output.
    """

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
    lowercase: bool = True
    dropout: float = 0.1
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None
    train: ReportTrainConfig = dataclasses.field(
        default_factory=lambda: ReportTrainConfig(
            epochs=3,
            min_steps=60,
            evaluations=6,
            learning_rates=ReportLearningRates(scratch=[3e-4], frozen=[1e-3], trainable=[3e-4]),
            probe_c=[0.01, 0.1, 1.0, 10.0],
            precision="auto",
        )
    )

    def validate(self):
        _check_report(self)
        _check(self.seq_length > 2, "seq_length must be at least 3 ([CLS] text [SEP])")


# === Loading, overriding, saving ===


def _check(condition, message):
    if not condition:
        raise ConfigError(message)


def _check_bert_model(model):
    """The checks every BERT ``model`` section shares: a known preset, a dropout rate."""
    from kerapre.models import bert

    _check(model.preset in bert.PRESETS, f"unknown model.preset {model.preset!r}: choose one of {list(bert.PRESETS)}")
    _check(0 <= model.dropout < 1, "model.dropout must be in [0, 1)")


def _check_run_settings(train):
    """The checks every ``train`` section shares: optimizer, strategy, precision, steps."""
    _check(train.optimizer in OPTIMIZERS, f"train.optimizer must be one of {OPTIMIZERS}")
    _check(train.strategy in STRATEGIES, f"train.strategy must be one of {STRATEGIES}")
    _check(train.precision in PRECISIONS, f"train.precision must be one of {PRECISIONS}")
    _check(train.steps_per_execution > 0, "train.steps_per_execution must be positive")


def from_dict(cls, values, *, where=""):
    """Builds config ``cls`` from a (possibly partial, nested) dict, checking names and types."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(_unknown_key_message(where + key, key, fields))
        kwargs[key] = _coerce(hints[key], value, where=f"{where}{key}")
    config = cls(**kwargs)
    return config


def _unknown_key_message(path, key, fields):
    close = difflib.get_close_matches(key, list(fields), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(fields)})"
    return f"unknown config key {path!r}{hint}"


def _coerce(hint, value, *, where):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, where=where)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return [_coerce(item, v, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value):
            return value
        return from_dict(hint, value, where=where + ".")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return value


def to_dict(config):
    """The config as plain nested dicts (what ``save_config`` writes)."""
    return dataclasses.asdict(config)


def validate(config):
    """Runs every section's ``validate()``; raises ``ConfigError`` on the first problem."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            validate(value)
    if hasattr(config, "validate"):
        config.validate()
    return config


def apply_overrides(config, overrides):
    """Returns a copy of ``config`` with ``key=value`` overrides applied (values parse as YAML)."""
    values = to_dict(config)
    for item in overrides or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value (e.g. train.epochs=3)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        node = values
        parts = key.strip().split(".")
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):
                raise ConfigError(
                    _unknown_key_message(".".join(parts[: depth + 1]), part,
                                         {k: None for k, v in node.items() if isinstance(v, dict)})
                )
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(_unknown_key_message(key.strip(), parts[-1], node))
        node[parts[-1]] = value
    return from_dict(type(config), values)


def load_config(cls, path=None, overrides=()):
    """Loads ``cls`` from an optional YAML file, applies overrides, validates and returns it."""
    values = {}
    if path:
        if not os.path.exists(path):
            raise ConfigError(f"config file {path} does not exist: check the --config path")
        with open(path, encoding="utf-8") as f:
            try:
                values = yaml.safe_load(f) or {}
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                at = f" at line {mark.line + 1}" if mark else ""
                raise ConfigError(f"config file {path} is not valid YAML{at}: fix its syntax") from None
    config = from_dict(cls, values)
    config = apply_overrides(config, overrides)
    return validate(config)


def save_config(config, path):
    """Writes ``config`` as YAML (atomically) so a run says how it was made."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump(to_dict(config), f, sort_keys=False)
    os.replace(tmp, path)
