"""The Keras 3 fixes that make ``model.fit`` work under ``MultiWorkerMirroredStrategy`` and
train on the same batches under every strategy.

Keras 3's TensorFlow trainer breaks ``fit`` and ``evaluate`` in multi-worker mode
(keras-team/keras#20585, tensorflow/tensorflow#72388) in two places:

1. ``TensorFlowTrainer._maybe_symbolic_build`` builds the model from the first batch by
   ``strategy.reduce("MEAN", batch)``: on several workers that is an eager cross-worker
   reduction of a ``PerReplica`` batch, which fails with "Attempt to convert a value
   (PerReplica...)". The build needs shapes only, so it is built from the dataset's
   ``element_spec``. Under every strategy, reading that batch also opened an extra iterator
   of the training stream, and each new iterator of a dataset shuffled with
   ``reshuffle_each_iteration`` draws the next seeds of its shuffle: the training batches
   depended on it, and a run resumed with ``skip`` trained on other batches than an
   uninterrupted one.
2. ``reduce_per_replica`` reduces every step output with ``strategy.reduce("MEAN", v,
   axis=0)`` in multi-worker mode; the outputs are scalar metrics, so it fails with
   "Invalid reduction dimension 0 for input with 0 dimensions". Scalars are averaged over
   the replicas with ``axis=None`` instead (what the single-worker branch computes).

:func:`apply` installs both, once, and only on the Keras versions in
``PATCHED_KERAS_VERSIONS`` (checked against their trainer code); on another version it
warns and changes nothing. ``kerapre.distribute.get_strategy`` calls it when it builds any
strategy but the default one.
"""

import warnings

import keras
import tensorflow as tf
from keras.src import tree
from keras.src.backend.tensorflow import trainer as tf_trainer
from keras.src.trainers.data_adapters.tf_dataset_adapter import TFDatasetAdapter

PATCHED_KERAS_VERSIONS = ("3.15",)
"""The ``major.minor`` Keras versions whose trainer code these patches were written for."""

_ORIGINALS = {}


def is_multi_worker(strategy):
    """Whether ``strategy`` all-reduces across several worker processes."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()
    )


def keras_version_is_patched(version=None):
    """Whether the patches were written for Keras ``version`` (default: the installed one)."""
    return ".".join((version or keras.__version__).split(".")[:2]) in PATCHED_KERAS_VERSIONS


def apply():
    """Installs the two multi-worker fixes into Keras's TensorFlow trainer.

    Returns:
        True if they are installed (now or before), False on an unpatched Keras version.
    """
    if _ORIGINALS:
        return True
    if not keras_version_is_patched():
        warnings.warn(
            f"kerapre's multi-worker fix for keras#20585 was written for Keras {', '.join(PATCHED_KERAS_VERSIONS)}, "
            f"not {keras.__version__}: it is not applied, so model.fit may fail under MultiWorkerMirroredStrategy",
            stacklevel=2,
        )
        return False
    _ORIGINALS["_maybe_symbolic_build"] = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    _ORIGINALS["reduce_per_replica"] = tf_trainer.reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    return True


def remove():
    """Puts Keras's own functions back (for tests)."""
    if not _ORIGINALS:
        return
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _ORIGINALS.pop("_maybe_symbolic_build")
    tf_trainer.reduce_per_replica = _ORIGINALS.pop("reduce_per_replica")


def maybe_symbolic_build(self, iterator=None, data_batch=None):
    """``TensorFlowTrainer._maybe_symbolic_build`` that builds a model trained on a
    ``tf.data.Dataset`` from the dataset's ``element_spec``, without reading a batch; on
    other data, a multi-worker model from one local replica's first batch instead of a
    batch reduced across workers."""
    strategy = self._distribute_strategy
    if iterator is not None and strategy is not None:
        if isinstance(iterator.data_adapter, TFDatasetAdapter):
            data_batch, iterator = iterator.data_adapter.get_tf_dataset().element_spec, None
        elif is_multi_worker(strategy):
            for _, _, it in iterator:
                data_batch = tree.map_structure(lambda x: _first_local(strategy, x), next(it))
                break
            iterator = None
    return _ORIGINALS["_maybe_symbolic_build"](self, iterator=iterator, data_batch=data_batch)


def reduce_per_replica(values, strategy, reduction):
    """``reduce_per_replica`` that averages scalar step outputs across workers with
    ``axis=None``; every other case goes to Keras's own function."""
    mean = reduction == "mean" or (reduction == "auto" and not isinstance(strategy, tf.distribute.TPUStrategy))
    if not (mean and is_multi_worker(strategy)):
        return _ORIGINALS["reduce_per_replica"](values, strategy, reduction)

    def reduce(value):
        rank = _first_local(strategy, value).shape.rank
        return strategy.reduce("MEAN", value, axis=None if rank == 0 else 0)

    return tree.map_structure(reduce, values)


def _first_local(strategy, value):
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value
