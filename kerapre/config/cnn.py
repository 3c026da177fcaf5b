"""Configs of the CNN workflows: supervised pretraining (``pretrain cnn``) and image fine-tuning."""

import dataclasses
import typing

from kerapre.config.loader import check
from kerapre.config.presets import CNN_PRESETS, cnn_layer_names
from kerapre.config.runtime import TrainingConfig
from kerapre.config.user_data import ImageFolderKeys

AUTO = "auto"
SCRATCH = "scratch"


@dataclasses.dataclass
class DataConfig(ImageFolderKeys):
    """Where the images come from and how they are batched.

    Args:
        name: a kerapre data set (``fashion_mnist_local``, ``mnist_5k``), any TFDS image
            classification name, or an image folder (``root/<class>/<image>``, or with
            ``train/``, ``validation/``, ``test/`` trees of that layout).
        train_split: the split to train on; TFDS slicing allowed (``train[:90%]``).
        eval_split: the split to evaluate on.
        batch_size: examples per replica; the global batch is this × replicas.
        data_dir: where TFDS keeps prepared data (``null``: ``$KERAPRE_DATA_DIR`` or
            ``~/.cache/kerapre/tensorflow_datasets`` for the kerapre sets, TFDS's default for
            others).
        limit: use only the first ``limit`` examples of each split (smoke runs).
    """

    name: str = "fashion_mnist_local"
    train_split: str = "train"
    eval_split: str = "test"
    batch_size: int = 64
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None

    def validate(self):
        check(self.batch_size > 0, "data.batch_size must be positive")
        check(self.limit is None or self.limit > 0, "data.limit must be positive or null")


@dataclasses.dataclass
class ModelConfig:
    """Which CNN to build.

    Args:
        preset: ``cnn_mnist`` (28×28×1) or ``cnn_cifar`` (32×32×3).
        cut: the layer where the backbone ends (``rescale``, ``conv_1``, ``pool_1``, ...,
            ``flatten``, ``dense_1``); ``flatten`` transfers best (a frozen ``dense_1``
            inside the backbone lost ~24 points).
    """

    preset: str = "cnn_mnist"
    cut: str = "flatten"

    def validate(self):
        check(self.preset in CNN_PRESETS, f"unknown model.preset {self.preset!r}: choose one of {sorted(CNN_PRESETS)}")
        names = cnn_layer_names(self.preset)
        check(self.cut in names, f"model.cut {self.cut!r} is not a layer of {self.preset}: choose one of {names}")


@dataclasses.dataclass
class TrainConfig(TrainingConfig):
    """How ``model.fit`` runs: the shared runtime and optimizer keys, and epochs.

    Args:
        epochs: passes over the training split.
        precision: ``float32``; ``auto``, ``mixed_bfloat16`` and ``mixed_float16`` as for
            pretraining.
    """

    epochs: int = 2
    precision: str = "float32"

    def validate(self):
        check(self.epochs > 0, "train.epochs must be positive")


@dataclasses.dataclass
class CNNTrainConfig(TrainConfig):
    """How CNN pretraining runs: the settings measured fastest at the same accuracy
    (docs/benchmarks.md), and a backup to resume from.

    Args:
        learning_rate: learning rate (scaled for the batch of 256).
        precision: ``auto`` (``mixed_bfloat16`` on CPUs with AVX512_BF16 or AMX, TPUs and
            Ampere+ GPUs, else ``float32``), ``float32``, ``mixed_bfloat16`` or
            ``mixed_float16``.
        steps_per_execution: train steps per ``tf.function`` call (progress bars and
            callbacks see every 8th step); an epoch is cut to whole calls (Fashion-MNIST at
            batch 256: 232 of 234 steps, the shuffled stream goes on into the next epoch); 1
            under ``mirrored`` / ``multi_worker_mirrored`` with several replicas
            ([keras#19246](https://github.com/keras-team/keras/issues/19246)).
        backup: back up weights, optimizer and the position in the data to
            ``model_dir/backup`` after every epoch; run the same command again after a crash
            to continue exactly where it was
            ([distributed.md](distributed.md#resuming-after-a-crash)); removed when the run
            completes.
    """

    learning_rate: float = 3e-3
    precision: str = "auto"
    steps_per_execution: int = 8
    backup: bool = True


@dataclasses.dataclass
class CNNPretrainConfig:
    """Supervised pretraining of a CNN backbone on a source task (Fashion-MNIST by default)."""

    data: DataConfig = dataclasses.field(default_factory=lambda: DataConfig(batch_size=256))
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: CNNTrainConfig = dataclasses.field(default_factory=CNNTrainConfig)


@dataclasses.dataclass
class HeadConfig:
    """The new head put on a reloaded backbone.

    Args:
        units: units of the head's hidden ReLU layer (0: a linear head).
        dropout: dropout before the output layer.
    """

    units: int = 128
    dropout: float = 0.0

    def validate(self):
        check(self.units >= 0, "head.units must be >= 0")
        check(0 <= self.dropout < 1, "head.dropout must be in [0, 1)")


@dataclasses.dataclass
class FinetuneDataConfig(DataConfig):
    """The labelled images fine-tuned on.

    Args:
        name: the target data set.
        train_split: the pool the labelled examples are drawn from.
        eval_split: the split the test accuracy is measured on.
        limit: use only the first ``limit`` examples of the pool and of the test split.
    """

    name: str = "mnist_5k"
    batch_size: int = 32


@dataclasses.dataclass
class FinetuneTrainConfig(TrainConfig):
    """How image fine-tuning runs.

    Args:
        epochs: epochs (of the first phase, with ``two_phase``).
        seed: seeds weights, shuffling and the choice of labelled examples.
    """

    epochs: int = 30


@dataclasses.dataclass
class FinetuneConfig:
    """Fine-tuning a reloaded backbone (or one built from scratch) on a small labelled set.

    Args:
        backbone: ``auto``: the latest ``saved_models/cnn_pretrain-backbone`` export, else
            ``runs/cnn_pretrain`` (what ``kerapre pretrain cnn`` and ``kerapre export``
            write); or a backbone export (a version directory or its parent), a ``.keras``
            file or a run directory; ``scratch`` builds ``model.preset`` with fresh weights.
        trainable: fine-tune the backbone weights too (the CLI's ``--no-freeze``).
        labels_per_class: labelled training examples per class (``null``: the whole split).
        validation_per_class: examples per class held out of the pool as a validation split
            (drawn first, with a fixed seed: the same for every run, never trained on),
            evaluated after every epoch and recorded as ``validation_accuracy``; ``null``: none.
        two_phase: train the head with the backbone frozen for ``train.epochs``, then
            unfreeze it.
        unfreeze_learning_rate: learning rate of the second phase.
        unfreeze_epochs: epochs of the second phase.
    """

    backbone: str = AUTO
    trainable: bool = False
    labels_per_class: typing.Optional[int] = 20
    validation_per_class: typing.Optional[int] = None
    two_phase: bool = False
    unfreeze_learning_rate: float = 1e-4
    unfreeze_epochs: int = 10
    data: FinetuneDataConfig = dataclasses.field(default_factory=FinetuneDataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    head: HeadConfig = dataclasses.field(default_factory=HeadConfig)
    train: FinetuneTrainConfig = dataclasses.field(default_factory=FinetuneTrainConfig)

    def validate(self):
        check(bool(self.backbone), f"backbone must be {AUTO}, {SCRATCH} or a path")
        check(self.labels_per_class is None or self.labels_per_class > 0, "labels_per_class must be positive or null")
        check(self.validation_per_class is None or self.validation_per_class > 0,
              "validation_per_class must be positive or null")
        check(self.unfreeze_learning_rate > 0, "unfreeze_learning_rate must be positive")
        check(
            not (self.two_phase and not self.trainable),
            "two_phase unfreezes the backbone in its second phase: set trainable=true or two_phase=false",
        )
