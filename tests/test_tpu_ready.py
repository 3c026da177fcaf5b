"""What a TPU run needs, checked without a TPU: the resolver, static shapes, steps per
execution and the bfloat16 default."""

import pytest
import tensorflow as tf

from kerapre import distribute
from kerapre.config import CNNPretrainConfig, load_config
from kerapre.data.masking import PretrainingMasker
from kerapre.data.pair_records import write_pretraining_records
from kerapre.data.vocab import load_vocabulary
from kerapre.data.vocab_learning import learn_vocabulary
from kerapre.errors import ConfigError
from kerapre.models import CNN
from kerapre.workflows.pretrain_bert import evaluation_dataset, training_dataset
from kerapre.training.compile import compile_classifier
from kerapre.workflows.pretrain_cnn import image_splits
from helpers import topic_corpus


class FakeResolver:
    """Records the TPU it is asked for; no TPU is ever reachable."""

    asked = []

    def __init__(self, tpu=None):
        FakeResolver.asked.append(tpu)
        raise ValueError("Could not lookup TPU metadata from name 'x'.\nmore detail")


@pytest.mark.parametrize("argument, env, asked", [("my-tpu", None, "my-tpu"), (None, "env-tpu", "env-tpu"),
                                                  ("grpc://10.0.0.2:8470", "env-tpu", "grpc://10.0.0.2:8470")])
def test_tpu_resolves_from_the_argument_or_tpu_name_with_a_clear_error(monkeypatch, argument, env, asked):
    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", FakeResolver)
    if env:
        monkeypatch.setenv("TPU_NAME", env)
    else:
        monkeypatch.delenv("TPU_NAME", raising=False)
    FakeResolver.asked = []
    with pytest.raises(ConfigError) as error:
        distribute.get_strategy("tpu", tpu=argument)
    assert FakeResolver.asked == [asked]
    message = str(error.value)
    assert "\n" not in message and message.startswith("no TPU found (Could not lookup TPU metadata")
    assert "set TPU_NAME" in message and "train.strategy" in message
    if env or argument:  # auto picks the TPU when one is named
        assert distribute._auto_strategy_name(argument) == "tpu"


def assert_static(element_spec):
    for spec in tf.nest.flatten(element_spec):
        assert spec.shape.is_fully_defined(), f"dynamic shape {spec.shape} in {element_spec}"


def test_cnn_pipelines_have_static_shapes():
    config = load_config(CNNPretrainConfig, overrides=["data.name=mnist_5k", "data.limit=100"])
    _, train, evaluation, steps = image_splits(config.data, image_shape=(28, 28, 1), global_batch=32, seed=0,
                                               static_eval=True)
    assert steps == 3  # 100 // 32: whole batches only
    assert_static(train.element_spec)
    assert_static(evaluation.element_spec)
    assert train.element_spec[0].shape == (32, 28, 28, 1)
    _, _, dynamic_eval, _ = image_splits(config.data, image_shape=(28, 28, 1), global_batch=32, seed=0)
    assert not dynamic_eval.element_spec[0].shape.is_fully_defined()  # off TPUs the last partial batch stays


def test_bert_training_stream_has_static_shapes(tmp_path):
    corpus = topic_corpus(tmp_path / "corpus.txt")
    learn_vocabulary(corpus, 150, output_path=str(tmp_path), show_progress=False)
    vocab_path = str(tmp_path / "vocab.txt")
    write_pretraining_records(corpus, vocab_path, str(tmp_path / "pairs"), seq_length=32, dupe_factor=1)
    masker = PretrainingMasker(load_vocabulary(vocab_path), max_predictions=5)
    ds = training_dataset(str(tmp_path / "pairs"), masker, global_batch=8, seed=0, seq_length=32)
    assert_static(ds.element_spec)
    features = ds.element_spec[0]
    assert features["token_ids"].shape == (8, 32) and features["mask_positions"].shape == (8, 5)
    assert_static(evaluation_dataset(str(tmp_path / "pairs"), masker, 8, seq_length=32, batches=2).element_spec)


def test_steps_per_execution_reaches_compile():
    config = load_config(CNNPretrainConfig, overrides=["train.steps_per_execution=8"])
    model = compile_classifier(CNN.from_preset("cnn_mnist"), config.train)
    assert model.steps_per_execution == 8
    with pytest.raises(ConfigError, match="steps_per_execution must be positive"):
        load_config(CNNPretrainConfig, overrides=["train.steps_per_execution=0"])


@pytest.mark.parametrize("precision, on_tpu, native, chosen", [
    ("auto", True, False, "mixed_bfloat16"),   # bfloat16 by default on TPUs
    ("auto", False, True, "mixed_bfloat16"),   # and where the CPU/GPU computes it natively
    ("auto", False, False, "float32"),
    ("float32", True, True, "float32"),        # an explicit choice stands
    ("mixed_float16", False, False, "mixed_float16"),
])
def test_precision_choice(precision, on_tpu, native, chosen):
    assert distribute.choose_precision(precision, on_tpu=on_tpu, native_bfloat16=native) == chosen
