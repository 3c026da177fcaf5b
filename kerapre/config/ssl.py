"""Configs of self-supervised CNN pretraining: SimCLR and rotation prediction."""

import dataclasses
import typing

from kerapre.config.cnn import ModelConfig, TrainConfig
from kerapre.config.loader import check
from kerapre.config.user_data import ImageFolderKeys

SSL_METHODS = ("simclr", "rotation")


@dataclasses.dataclass
class SSLDataConfig(ImageFolderKeys):
    """The unlabelled images of self-supervised pretraining: labels are never read.

    Args:
        name: a kerapre data set (``fashion_mnist_local``, ``mnist_5k``), any TFDS set with
            an image feature, or an image folder (its class folders are ignored); only its
            images are read.
        split: the split to pretrain on; TFDS slicing allowed (``train[:50%]``).
        batch_size: images per replica (at least 2); each replica contrasts its own images,
            so an anchor has ``2 × batch_size − 2`` negatives.
        data_dir: where TFDS keeps prepared data (as for the CNN configs).
        limit: use only the first ``limit`` images (smoke runs); at least one global batch.
        exclude: ``name:split`` entries never pretrained on, e.g. the images a later
            evaluation tests on (any slice of them, ``+`` joins and ``all`` are refused too);
            ``[]`` turns the check off.
    """

    name: str = "fashion_mnist_local"
    split: str = "train"
    batch_size: int = 128
    data_dir: typing.Optional[str] = None
    limit: typing.Optional[int] = None
    exclude: typing.List[str] = dataclasses.field(default_factory=lambda: ["mnist_5k:test"])

    def validate(self):
        check(self.batch_size > 1, "data.batch_size must be at least 2 (an image needs others to contrast with)")
        check(self.limit is None or self.limit > 0, "data.limit must be positive or null")
        for entry in self.exclude:
            check(entry.count(":") == 1, f"data.exclude entry {entry!r} is not name:split (e.g. mnist_5k:test)")
        splits = {part.split("[")[0].strip() for part in self.split.split("+")}
        for entry in self.exclude:
            name, split = entry.split(":")
            check(
                self.name != name or not (splits & {split, "all"}),
                f"data.split {self.split!r} of {self.name} is excluded as an unlabelled source "
                f"(data.exclude has {entry}: images an evaluation tests on): pretrain on another split, e.g. train",
            )


@dataclasses.dataclass
class SSLModelConfig(ModelConfig):
    """The backbone and the self-supervised head.

    Args:
        projection_dim: width of SimCLR's two-layer projection head.
        temperature: the NT-Xent temperature of SimCLR.
        head_units: hidden units of the rotation head (0: linear).
        rotations: rotation: ``random`` (one rotation per image) or ``all`` (all four per
            image, a 4× batch).
    """

    projection_dim: int = 128
    temperature: float = 0.1
    head_units: int = 128
    rotations: str = "random"

    def validate(self):
        check(self.projection_dim > 0, "model.projection_dim must be positive")
        check(self.temperature > 0, "model.temperature must be positive")
        check(self.head_units >= 0, "model.head_units must be >= 0")
        check(self.rotations in ("random", "all"), "model.rotations must be random or all")


@dataclasses.dataclass
class AugmentConfig:
    """How SimCLR draws two views of an image (see ``kerapre.tasks.contrastive.simclr_augmenter``).

    Args:
        crop_area: SimCLR: smallest fraction of the area a random crop-and-resize keeps
            (1: no crop).
        translation: SimCLR: largest random shift, as a fraction of the image size.
        noise: SimCLR: Gaussian noise standard deviation on a 0–1 pixel scale.
        contrast: SimCLR: random contrast factor in ``[1 − contrast, 1 + contrast]``.
        flip: SimCLR: random left-right flips (off: they change digits).
    """

    crop_area: float = 0.5
    translation: float = 0.15
    noise: float = 0.05
    contrast: float = 0.4
    flip: bool = False

    def validate(self):
        check(0 < self.crop_area <= 1, "augment.crop_area must be in (0, 1]")
        check(0 <= self.translation < 1, "augment.translation must be in [0, 1)")
        check(0 <= self.noise <= 1, "augment.noise must be in [0, 1]")
        check(0 <= self.contrast < 1, "augment.contrast must be in [0, 1)")


@dataclasses.dataclass
class SSLTrainConfig(TrainConfig):
    """How self-supervised pretraining runs.

    Args:
        epochs: passes over the images.
        precision: ``float32``, ``auto``, ``mixed_bfloat16`` or ``mixed_float16`` (as for the
            CNN configs); projections and the loss stay float32.
        seed: seeds weights, shuffling and the random views and rotations.
    """

    epochs: int = 5


@dataclasses.dataclass
class SSLPretrainConfig:
    """Self-supervised pretraining of a CNN backbone on unlabelled images.

    Args:
        method: ``simclr`` (contrastive, two augmented views) or ``rotation`` (predict
            0/90/180/270 degrees); the CLI sub-command sets it.
    """

    method: str = "simclr"
    data: SSLDataConfig = dataclasses.field(default_factory=SSLDataConfig)
    model: SSLModelConfig = dataclasses.field(default_factory=SSLModelConfig)
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    train: SSLTrainConfig = dataclasses.field(default_factory=SSLTrainConfig)

    def validate(self):
        check(self.method in SSL_METHODS, f"method must be one of {SSL_METHODS}, got {self.method!r}")
