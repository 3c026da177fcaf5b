"""Each patched Keras function, in one process: a MirroredStrategy over two logical CPUs stands
in for a multi-worker one (``is_multi_worker`` is forced true), which reaches the same code."""

import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as tf_trainer

from kerapre import distribute, distribute_patches


@pytest.fixture
def patched(monkeypatch):
    """The patches installed, a two-replica strategy, and multi-worker mode forced on."""
    assert distribute_patches.apply()
    monkeypatch.setattr(distribute_patches, "is_multi_worker", lambda strategy: True)
    return distribute.get_strategy("mirrored")


def per_replica_scalars(strategy):
    """A PerReplica scalar: 1.0 on replica 0, 3.0 on replica 1."""
    return strategy.run(lambda: tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group * 2 + 1,
                                        tf.float32))


def test_kerass_own_reduce_fails_on_scalar_metrics_of_several_workers(monkeypatch):
    strategy = distribute.get_strategy("mirrored")
    monkeypatch.setattr(tf_trainer, "_collective_all_reduce_multi_worker", lambda strategy: True)
    original = distribute_patches._ORIGINALS.get("reduce_per_replica", tf_trainer.reduce_per_replica)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="Invalid reduction dimension"):
        original({"loss": per_replica_scalars(strategy)}, strategy, "auto")


def test_reduce_per_replica_averages_scalars_over_the_replicas(patched):
    values = {"loss": per_replica_scalars(patched), "accuracy": per_replica_scalars(patched)}
    reduced = tf_trainer.reduce_per_replica(values, patched, "auto")
    assert float(reduced["loss"]) == 2.0 and float(reduced["accuracy"]) == 2.0
    # Non-scalars keep Keras's axis=0; other reductions go to Keras's own function.
    vectors = patched.run(lambda: tf.ones([3]))
    assert float(tf_trainer.reduce_per_replica(vectors, patched, "mean")) == 1.0
    assert float(tf_trainer.reduce_per_replica(per_replica_scalars(patched), patched, "sum")) == 4.0


def test_symbolic_build_uses_the_data_shapes_and_never_reads_or_reduces_a_batch(patched, monkeypatch):
    with patched.scope():
        model = keras.Sequential([keras.layers.Dense(3, name="dense")])  # no input shape: built from data
        model.compile("sgd", "mse")
    reads = []

    def batches():
        reads.append(1)
        yield np.ones((4, 5), "float32"), np.zeros((4, 3), "float32")

    ds = tf.data.Dataset.from_generator(batches, output_signature=(tf.TensorSpec((4, 5)), tf.TensorSpec((4, 3))))
    iterator = tf_trainer.TFEpochIterator(x=ds, distribute_strategy=patched)

    def refuse(*args, **kwargs):
        raise AssertionError("the batch was reduced across replicas")

    monkeypatch.setattr(patched, "reduce", refuse)
    model._maybe_symbolic_build(iterator=iterator)
    assert model.built and model.get_layer("dense").kernel.shape == (5, 3)
    assert not reads  # an extra iterator would move a reshuffling dataset's seeds (and cost a read)


def test_single_worker_builds_read_no_batch_of_a_dataset_and_leave_arrays_to_keras(monkeypatch):
    strategy = distribute.get_strategy("mirrored")  # installs the patches
    calls = []
    original = distribute_patches._ORIGINALS["_maybe_symbolic_build"]
    monkeypatch.setitem(distribute_patches._ORIGINALS, "_maybe_symbolic_build",
                        lambda self, **kwargs: calls.append(kwargs) or original(self, **kwargs))
    with strategy.scope():
        model = keras.Sequential([keras.layers.Dense(2)])
        model.compile("sgd", "mse")
    x, y = np.ones((4, 3), "float32"), np.ones((4, 2), "float32")
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(2), epochs=1, verbose=0)
    assert calls[-1]["iterator"] is None and calls[-1]["data_batch"][0].shape == (None, 3)  # the spec
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert calls[-1]["iterator"] is not None  # not rewritten: Keras reduces the batch itself


def test_patches_are_skipped_with_a_warning_on_other_keras_versions(monkeypatch):
    distribute_patches.remove()
    keras_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    monkeypatch.setattr(keras, "__version__", "3.16.0")
    with pytest.warns(UserWarning, match="keras#20585.*not 3.16.0"):
        assert not distribute_patches.apply()
    assert tf_trainer.TensorFlowTrainer._maybe_symbolic_build is keras_build
    monkeypatch.setattr(keras, "__version__", "3.15.1")
    assert distribute_patches.apply()
    assert tf_trainer.TensorFlowTrainer._maybe_symbolic_build is distribute_patches.maybe_symbolic_build
    assert distribute_patches.keras_version_is_patched("3.15.0") and not distribute_patches.keras_version_is_patched("3.1.5")


def fake_cluster_strategy(cluster, task_type, task_id):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
    return types.SimpleNamespace(cluster_resolver=resolver)


@pytest.mark.parametrize("cluster, task, chief", [
    ({"worker": ["a:1", "b:1"]}, ("worker", 0), True),
    ({"worker": ["a:1", "b:1"]}, ("worker", 1), False),
    ({"chief": ["c:1"], "worker": ["a:1"]}, ("chief", 0), True),
    ({"chief": ["c:1"], "worker": ["a:1"]}, ("worker", 0), False),
])
def test_only_the_chief_keeps_the_run_directory(monkeypatch, tmp_path, cluster, task, chief):
    monkeypatch.setattr(distribute_patches, "is_multi_worker", lambda strategy: True)
    strategy = fake_cluster_strategy(cluster, *task)
    assert distribute.is_chief(strategy) is chief
    assert distribute.num_workers(strategy) == 2
    with distribute.run_directory(strategy, str(tmp_path / "run")) as where:
        open(f"{where}/metrics.csv", "w").close()
    if not chief:  # a killed worker leaves its scratch behind: the next start clears it
        os.makedirs(f"{where}/left-by-a-killed-worker")
        with distribute.run_directory(strategy, str(tmp_path / "run")) as again:
            assert again == where and os.listdir(again) == []
    assert (where == str(tmp_path / "run")) is chief
    assert (tmp_path / "run" / "metrics.csv").exists() is chief
    assert chief or not os.path.exists(where)  # the worker's scratch directory is gone


def test_shard_by_sets_the_auto_shard_policy():
    ds = tf.data.Dataset.range(4)
    policy = tf.data.experimental.AutoShardPolicy
    assert distribute.shard_by(ds, "file").options().experimental_distribute.auto_shard_policy == policy.FILE
    assert distribute.shard_by(ds, "data").options().experimental_distribute.auto_shard_policy == policy.DATA
