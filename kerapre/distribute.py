"""Choosing a ``tf.distribute`` strategy and a precision policy by name.

Build models, optimizers and metrics inside ``strategy.scope()``; feed ``model.fit``
batches of ``global_batch_size(strategy, per_replica)`` examples.

Examples:

```python
strategy = kerapre.distribute.get_strategy("auto")
with strategy.scope():
    model = kerapre.models.CNN.from_preset("cnn_mnist")
    model.compile(...)
batch = kerapre.distribute.global_batch_size(strategy, 64)
```
"""

import contextlib
import functools
import hashlib
import json
import os
import shutil
import tempfile
import warnings

import keras
import tensorflow as tf

from kerapre import distribute_patches
from kerapre.errors import ConfigError

STRATEGY_NAMES = ("auto", "default", "one_device", "mirrored", "multi_worker_mirrored", "tpu")


_MIRRORED = {}


def get_strategy(name="auto", *, tpu=None):
    """Returns the strategy called ``name``.

    Args:
        name: ``auto`` (TPU if one is named, multi-worker if ``TF_CONFIG`` lists
            several tasks, mirrored over several GPUs, else the default strategy),
            ``default``, ``one_device``, ``mirrored`` (all GPUs, or all logical CPU
            devices when there is no GPU), ``multi_worker_mirrored`` (cluster from
            ``TF_CONFIG`` or Slurm) or ``tpu``.
        tpu: the TPU name or address for ``tpu`` (default: ``$TPU_NAME``).
    """
    if name not in STRATEGY_NAMES:
        raise ConfigError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGY_NAMES)}")
    if name == "auto":
        name = _auto_strategy_name(tpu)
    if name == "default":
        return tf.distribute.get_strategy()
    # keras#20585 (model.fit fails under multi_worker_mirrored) and the same batches whatever
    # the strategy (Keras would open an extra iterator of the training data to build the model)
    distribute_patches.apply()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = tuple(d.name for d in gpus or tf.config.list_logical_devices("CPU"))
        # One strategy per device set and process: every new MirroredStrategy numbers its
        # collective ops from the same keys, so a second one training other variable shapes
        # fails with "Shape mismatch in the collective instance".
        if devices not in _MIRRORED:
            _MIRRORED[devices] = tf.distribute.MirroredStrategy(list(devices))
        return _MIRRORED[devices]
    if name == "multi_worker_mirrored":
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=_cluster_resolver())
    return _tpu_strategy(tpu)


def _auto_strategy_name(tpu):
    if tpu or os.environ.get("TPU_NAME"):
        return "tpu"
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if sum(len(tasks) for tasks in cluster.values()) > 1:
        return "multi_worker_mirrored"
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def _cluster_resolver():
    if "TF_CONFIG" not in os.environ and "SLURM_JOB_ID" in os.environ:
        return tf.distribute.cluster_resolver.SlurmClusterResolver()
    return tf.distribute.cluster_resolver.TFConfigClusterResolver()


def _tpu_strategy(tpu):
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or os.environ.get("TPU_NAME"))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as error:
        raise ConfigError(
            f"no TPU found ({str(error).splitlines()[0]}): set TPU_NAME (or pass tpu= to get_strategy) "
            "or choose another train.strategy"
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy):
    """Whether this process writes the run's files: always, except on the workers of a
    multi-worker cluster other than the chief (or worker 0 when there is no chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not distribute_patches.is_multi_worker(strategy) or resolver is None:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type in (None, "worker") and resolver.task_id == 0 and not has_chief


def num_workers(strategy):
    """How many worker processes train together (1 unless multi-worker)."""
    if not distribute_patches.is_multi_worker(strategy):
        return 1
    return sum(len(tasks) for job, tasks in strategy.cluster_resolver.cluster_spec().as_dict().items()
               if job in ("chief", "worker"))


@contextlib.contextmanager
def run_directory(strategy, model_dir):
    """Yields where this process writes the run: ``model_dir`` on the chief, a temporary
    directory (removed afterwards) on the other workers of a multi-worker cluster.

    Every worker runs the same code, saves included (a save may take part in collective
    ops), but only the chief's files are kept: TensorFlow's multi-worker convention. The
    temporary directory is named for the run and the task, so the restart of a killed worker
    clears what it left there.
    """
    if is_chief(strategy):
        os.makedirs(model_dir, exist_ok=True)
        yield model_dir
        return
    resolver = strategy.cluster_resolver
    run = hashlib.sha256(os.path.abspath(model_dir).encode()).hexdigest()[:12]
    scratch = os.path.join(tempfile.gettempdir(), f"kerapre-worker-{run}-{resolver.task_type}-{resolver.task_id}")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def shard_by(ds, policy):
    """Sets how a multi-worker strategy splits ``ds`` among the workers.

    Args:
        ds: a ``tf.data.Dataset`` of global batches.
        policy: ``file`` (each worker reads its own share of the files: for data sets in
            many TFRecord shards) or ``data`` (each worker reads everything and keeps its
            share of every batch: for small or cached sets, and where the order matters).
    """
    policies = {"file": tf.data.experimental.AutoShardPolicy.FILE, "data": tf.data.experimental.AutoShardPolicy.DATA}
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policies[policy]
    return ds.with_options(options)


def global_batch_size(strategy, per_replica_batch_size):
    """The batch ``model.fit`` sees: the per-replica batch times the replicas in sync."""
    return per_replica_batch_size * strategy.num_replicas_in_sync


def split_cpu(num_devices):
    """Splits the CPU into ``num_devices`` logical devices (to try ``mirrored`` without GPUs).

    Must run before TensorFlow initialises its devices (before any op runs).
    """
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)]
    )


def has_native_bfloat16():
    """Whether this machine computes bfloat16 natively: a TPU, an Ampere+ GPU or a CPU with
    AVX512_BF16 or AMX."""
    if tf.config.list_logical_devices("TPU"):
        return True
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
        if capability >= (8, 0):
            return True
    flags = _cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def has_avx512():
    """Whether this machine's CPU has AVX-512 (``avx512f``)."""
    return "avx512f" in _cpu_flags()


@functools.lru_cache(maxsize=1)
def _cpu_flags():
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def keeps_dtype_policy(workflow):
    """Decorates a workflow that calls :func:`set_precision` so that the caller's global
    dtype policy is back in place when it returns (or fails): the models it built keep
    their own policy, and a model the caller builds next is not silently bfloat16."""

    @functools.wraps(workflow)
    def wrapper(*args, **kwargs):
        previous = keras.mixed_precision.dtype_policy()
        try:
            return workflow(*args, **kwargs)
        finally:
            keras.mixed_precision.set_dtype_policy(previous)

    return wrapper


def choose_precision(precision, *, on_tpu, native_bfloat16):
    """The dtype policy name ``precision`` means: ``auto`` is ``mixed_bfloat16`` on a TPU and
    where the hardware computes bfloat16 natively, else ``float32``; other names stand."""
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if on_tpu or native_bfloat16 else "float32"


def choose_jit_compile(jit_compile, *, precision, accelerator, replicas, on_tpu=False, avx512=False):
    """Whether to compile the train step with XLA: ``True`` and ``False`` stand; ``auto`` is
    chosen by hardware, as :func:`choose_precision` chooses the dtype:

    - TPUs: on (TPU programs are always compiled);
    - several replicas on CPUs or GPUs: off (Keras's XLA step under ``MirroredStrategy`` is
      not measured here);
    - a GPU: on (Keras's own ``jit_compile="auto"``; not measured here);
    - a CPU: on only for float32 on a CPU without AVX-512. Measured on BERT pretraining steps
      (``benchmarks/bert_pretraining.py``, docs/benchmarks.md): on a 2-core CPU without AVX-512,
      float32 with XLA 2,049 ms against 2,217 without (keras-hub's step); on the AMD EPYC with
      AVX512_BF16, XLA made bfloat16 1.4× slower (1,095 against 787 ms) and float32 0.97×
      (970 against 944 ms).
    """
    if jit_compile != "auto":
        return bool(jit_compile)
    if on_tpu:
        return True
    if replicas > 1:
        return False
    return accelerator or (precision == "float32" and not avx512)


def resolve_jit_compile(jit_compile):
    """:func:`choose_jit_compile` for the strategy in scope, the dtype policy in force and the
    devices of this machine."""
    strategy = tf.distribute.get_strategy()
    return choose_jit_compile(
        jit_compile,
        precision=keras.mixed_precision.dtype_policy().name,
        accelerator=bool(tf.config.list_logical_devices("GPU")),
        replicas=strategy.num_replicas_in_sync,
        on_tpu=is_tpu(strategy),
        avx512=has_avx512(),
    )


def is_tpu(strategy):
    """Whether ``strategy`` trains on TPUs (which need static shapes)."""
    return isinstance(strategy, (tf.distribute.TPUStrategy, tf.distribute.experimental.TPUStrategy))


def steps_per_execution(requested):
    """The ``steps_per_execution`` to compile with under the current strategy: ``requested``,
    except 1 where Keras 3.15 cannot run more.

    Keras 3's TensorFlow trainer runs several steps per call inside a ``tf.while_loop``
    whose body is a ``tf.cond``; under a ``MirroredStrategy`` or
    ``MultiWorkerMirroredStrategy`` with more than one replica the gradient all-reduce in
    that ``tf.cond`` fails ("You must feed a value for placeholder tensor ... while/cond",
    https://github.com/keras-team/keras/issues/19246: conditionals around ``merge_call``).
    There the run falls back to one step per call with a warning; a single replica and
    TPUs keep ``requested``. Call it inside ``strategy.scope()``.
    """
    strategy = tf.distribute.get_strategy()
    if requested > 1 and strategy.num_replicas_in_sync > 1 and not is_tpu(strategy):
        warnings.warn(
            f"train.steps_per_execution={requested} runs as 1 under {type(strategy).__name__} with "
            f"{strategy.num_replicas_in_sync} replicas: Keras 3 fails on several steps per call there "
            "(https://github.com/keras-team/keras/issues/19246)",
            stacklevel=2,
        )
        return 1
    return requested


def whole_executions(steps_per_epoch, steps_per_execution):
    """``(steps_per_epoch, steps_per_execution)`` such that an epoch of an endless stream is
    whole ``tf.function`` calls.

    Keras runs ``ceil(steps_per_epoch / steps_per_execution)`` calls of
    ``steps_per_execution`` steps each on a repeated data set, so 234 steps at 8 per call
    would train 240 per epoch, and a run resumed from a backup would skip too few batches.
    The epoch is cut to whole calls (234 → 232; the stream goes on into the next epoch) and
    a call never runs more steps than an epoch has.
    """
    steps_per_execution = max(1, min(steps_per_execution, steps_per_epoch))
    return steps_per_epoch - steps_per_epoch % steps_per_execution, steps_per_execution


def set_precision(precision="auto", strategy=None):
    """Sets Keras's global dtype policy and returns its name.

    ``auto`` chooses ``mixed_bfloat16`` on TPUs and where :func:`has_native_bfloat16`,
    ``float32`` otherwise (:func:`choose_precision`). ``mixed_float16`` is for GPUs.
    """
    on_tpu = strategy is not None and is_tpu(strategy)
    precision = choose_precision(precision, on_tpu=on_tpu,
                                 native_bfloat16=precision == "auto" and has_native_bfloat16())
    keras.mixed_precision.set_dtype_policy(precision)
    return precision
