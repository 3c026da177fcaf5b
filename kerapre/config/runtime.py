"""The settings every training run shares: where and how it computes, and how it optimizes.

``RuntimeConfig`` and ``OptimizerConfig`` are defined once, here; each experiment's ``train``
section inherits both (keys stay ``train.strategy``, ``train.learning_rate``, ...) and sets
only its own defaults and its own keys (epochs, steps, schedule, backup).
"""

import dataclasses
import typing

from kerapre.config.loader import check

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker_mirrored", "tpu")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclasses.dataclass
class RuntimeConfig:
    """Where and how a run computes.

    Args:
        strategy: ``auto``, ``default``, ``one_device``, ``mirrored``,
            ``multi_worker_mirrored`` or ``tpu`` ([concepts.md](concepts.md#strategies));
            ``auto`` picks TPU, several GPUs, a ``TF_CONFIG`` cluster or one device.
        precision: ``auto`` (``mixed_bfloat16`` on CPUs with AVX512_BF16 or AMX, TPUs and
            Ampere+ GPUs, else ``float32``), ``float32``, ``mixed_bfloat16`` or
            ``mixed_float16``.
        jit_compile: compile the train step with XLA: ``true``, ``false`` or ``auto``
            (by hardware, as ``precision`` is chosen: on GPUs and TPUs, and on CPUs only for
            float32 on a CPU without AVX-512; off with several CPU/GPU replicas; see
            ``kerapre.distribute.choose_jit_compile``).
        steps_per_execution: train steps per ``tf.function`` call.
        seed: seeds weights, shuffling and every random draw of the run.
        verbose: Keras progress output: 1 bar, 2 one line per epoch, 0 quiet.
    """

    strategy: str = "auto"
    precision: str = "auto"
    jit_compile: typing.Union[bool, str] = False
    steps_per_execution: int = 1
    seed: int = 0
    verbose: int = 1

    def validate(self):
        check(self.strategy in STRATEGIES, f"train.strategy must be one of {STRATEGIES}")
        check(self.precision in PRECISIONS, f"train.precision must be one of {PRECISIONS}")
        check(self.jit_compile in (True, False, "auto"), "train.jit_compile must be true, false or auto")
        check(self.steps_per_execution > 0, "train.steps_per_execution must be positive")
        check(self.verbose in (0, 1, 2), "train.verbose must be 0, 1 or 2")


@dataclasses.dataclass
class OptimizerConfig:
    """The optimizer of a run.

    Args:
        learning_rate: learning rate (the peak of a warm-up schedule).
        optimizer: ``adam``, ``adamw`` or ``sgd`` (momentum 0.9).
        weight_decay: AdamW's decoupled weight decay, not applied to LayerNorm weights or
            biases.
        clipnorm: global gradient-norm clipping (``null``: none).
    """

    learning_rate: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    clipnorm: typing.Optional[float] = None

    def validate(self):
        check(self.optimizer in OPTIMIZERS, f"train.optimizer must be one of {OPTIMIZERS}")
        check(self.learning_rate is None or self.learning_rate > 0, "train.learning_rate must be positive")
        check(self.weight_decay >= 0, "train.weight_decay must be >= 0")
        check(self.clipnorm is None or self.clipnorm > 0, "train.clipnorm must be positive or null")


@dataclasses.dataclass
class TrainingConfig(OptimizerConfig, RuntimeConfig):
    """A ``train`` section: the runtime and optimizer settings every run shares."""
