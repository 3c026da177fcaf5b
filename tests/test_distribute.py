import keras
import pytest
import tensorflow as tf

from kerapre import distribute
from kerapre.errors import ConfigError
from kerapre.models import CNN
from helpers import tiny_images


def test_default_and_one_device():
    assert distribute.get_strategy("default").num_replicas_in_sync == 1
    one = distribute.get_strategy("one_device")
    assert isinstance(one, tf.distribute.OneDeviceStrategy)
    assert distribute.global_batch_size(one, 32) == 32


def test_auto_is_default_without_tpu_cluster_or_gpus(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    assert distribute.get_strategy("auto") is tf.distribute.get_strategy()


def test_auto_reads_a_multi_worker_tf_config(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, '
                                    '"task": {"type": "worker", "index": 0}}')
    assert distribute._auto_strategy_name(None) == "multi_worker_mirrored"


def test_mirrored_over_two_logical_cpus_trains_the_cnn():
    strategy = distribute.get_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2
    assert distribute.global_batch_size(strategy, 16) == 32
    with strategy.scope():
        model = CNN.from_preset("cnn_mnist")
        model.compile(keras.optimizers.Adam(1e-3),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    assert isinstance(model.get_layer("conv_1").kernel.value, tf.distribute.DistributedValues)
    x, y = tiny_images(64)
    ds = tf.data.Dataset.from_tensor_slices((x.astype("float32"), y)).batch(32)
    losses = model.fit(ds, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


def test_mirrored_runs_of_different_models_follow_each_other_in_one_process():
    # Two MirroredStrategy objects would number their collective ops alike and the second
    # model's all-reduce would fail with "Shape mismatch in the collective instance".
    assert distribute.get_strategy("mirrored") is distribute.get_strategy("mirrored")
    x, y = tiny_images(32, shape=(32, 32, 3))
    for preset, images in (("cnn_mnist", tiny_images(32)[0]), ("cnn_cifar", x)):
        with distribute.get_strategy("mirrored").scope():
            model = CNN.from_preset(preset)
            model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        ds = tf.data.Dataset.from_tensor_slices((images.astype("float32"), y)).batch(16)
        assert model.fit(ds, epochs=1, verbose=0).history["loss"][0] > 0


def _mirrored_cnn(steps):
    with distribute.get_strategy("mirrored").scope():
        model = CNN.from_preset("cnn_mnist")
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=steps)
    x, y = tiny_images(64)
    return model, tf.data.Dataset.from_tensor_slices((x.astype("float32"), y)).batch(16)


def test_kerass_several_steps_per_call_fail_under_two_mirrored_replicas():
    # keras-team/keras#19246: when this starts passing, distribute.steps_per_execution's
    # fallback to 1 can go.
    model, ds = _mirrored_cnn(4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for placeholder"):
        model.fit(ds, epochs=1, verbose=0)


def test_steps_per_execution_falls_back_to_one_only_where_keras_fails():
    with distribute.get_strategy("mirrored").scope():
        with pytest.warns(UserWarning, match=r"steps_per_execution=8 runs as 1 under MirroredStrategy with 2"):
            assert distribute.steps_per_execution(8) == 1
        assert distribute.steps_per_execution(1) == 1
    with distribute.get_strategy("one_device").scope():
        assert distribute.steps_per_execution(8) == 8
    assert distribute.steps_per_execution(8) == 8
    model, ds = _mirrored_cnn(1)
    assert model.fit(ds, epochs=1, verbose=0).history["loss"][0] > 0


def test_an_epoch_is_whole_calls():
    assert distribute.whole_executions(234, 8) == (232, 8)
    assert distribute.whole_executions(240, 8) == (240, 8)
    assert distribute.whole_executions(6, 8) == (6, 6)  # a call never spans more than an epoch
    assert distribute.whole_executions(5, 1) == (5, 1)


def test_unknown_strategy_and_missing_tpu_raise_clear_errors(monkeypatch):
    with pytest.raises(ConfigError, match="unknown strategy 'gpu'"):
        distribute.get_strategy("gpu")
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(ConfigError, match="no TPU found"):
        distribute.get_strategy("tpu")


def test_precision_auto_follows_the_hardware():
    chosen = distribute.set_precision("auto")
    assert chosen == ("mixed_bfloat16" if distribute.has_native_bfloat16() else "float32")
    assert keras.mixed_precision.dtype_policy().name == chosen
    assert distribute.set_precision("float32") == "float32"


@pytest.mark.parametrize("precision, accelerator, replicas, on_tpu, avx512, expected", [
    ("float32", False, 1, False, False, True),          # CPU without AVX-512: XLA helps float32
    ("float32", False, 1, False, True, False),          # AVX-512 CPU: float32 no faster with XLA
    ("mixed_bfloat16", False, 1, False, True, False),   # XLA makes bfloat16 slower on CPU
    ("mixed_bfloat16", True, 1, False, False, True),    # a GPU
    ("mixed_float16", True, 2, False, False, False),    # several GPU replicas: not measured
    ("mixed_bfloat16", False, 8, True, False, True),    # TPUs always compile
])
def test_jit_compile_auto_is_chosen_by_hardware(precision, accelerator, replicas, on_tpu, avx512, expected):
    assert distribute.choose_jit_compile("auto", precision=precision, accelerator=accelerator, replicas=replicas,
                                         on_tpu=on_tpu, avx512=avx512) is expected
    for explicit in (True, False):  # an explicit setting stands
        assert distribute.choose_jit_compile(explicit, precision=precision, accelerator=accelerator,
                                             replicas=replicas, on_tpu=on_tpu, avx512=avx512) is explicit


def test_jit_compile_auto_resolves_on_this_machine_and_in_a_config():
    from kerapre.config import BertPretrainConfig, load_config

    config = load_config(BertPretrainConfig, overrides=["train.jit_compile=auto"])
    assert config.train.jit_compile == "auto"
    assert load_config(BertPretrainConfig, overrides=["train.jit_compile=true"]).train.jit_compile is True
    distribute.set_precision("float32")
    try:
        expected = bool(tf.config.list_logical_devices("GPU")) or not distribute.has_avx512()
        assert distribute.resolve_jit_compile("auto") is expected
    finally:
        distribute.set_precision("float32")


def test_workflows_give_the_callers_dtype_policy_back():
    @distribute.keeps_dtype_policy
    def workflow(fail):
        distribute.set_precision("mixed_bfloat16")
        if fail:
            raise ValueError("boom")
        return keras.mixed_precision.dtype_policy().name

    assert workflow(False) == "mixed_bfloat16"
    assert keras.mixed_precision.dtype_policy().name == "float32"
    with pytest.raises(ValueError):
        workflow(True)
    assert keras.mixed_precision.dtype_policy().name == "float32"
