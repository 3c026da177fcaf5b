import csv
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import kerapre
from kerapre import cli
from kerapre.config import SSLPretrainConfig, load_config, validate
from kerapre.errors import ConfigError, DataError
from kerapre.tasks import ContrastivePretrainer, RotationPretrainer
from kerapre.workflows.pretrain_ssl import load_unlabelled_images, unlabelled_pipeline

TINY = ["data.name=mnist_5k", "data.limit=64", "data.batch_size=16", "train.epochs=2", "train.verbose=0"]
PIXELS = np.random.default_rng(0).uniform(0, 255, (3, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module")
def simclr_run(tmp_path_factory):
    config = load_config(SSLPretrainConfig, overrides=TINY)
    return kerapre.pretrain_ssl(config, model_dir=str(tmp_path_factory.mktemp("ssl") / "simclr"))


def test_a_run_writes_everything_and_records_no_labels(simclr_run):
    d = simclr_run.model_dir
    for name in ("config.yaml", "metrics.csv", "model.keras", "run.json"):
        assert os.path.exists(os.path.join(d, name)), name
    with open(os.path.join(d, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1] and {"loss", "contrastive_accuracy"} <= set(rows[0])
    assert sorted(os.listdir(os.path.join(d, "checkpoints"))) == ["epoch-001.weights.h5", "epoch-002.weights.h5"]
    record = json.load(open(os.path.join(d, "run.json")))
    assert record["task"] == "ssl_pretrain" and record["method"] == "simclr"
    assert record["images"] == 64 and record["label_names"] is None and record["replicas"] == 1
    assert np.isfinite(simclr_run.history["loss"]).all()


def test_model_keras_reloads_with_safe_mode_and_load_backbone_gives_the_same_features(simclr_run):
    reloaded = keras.saving.load_model(os.path.join(simclr_run.model_dir, "model.keras"))  # safe_mode on
    assert isinstance(reloaded, ContrastivePretrainer)
    backbone = kerapre.load_backbone(simclr_run.model_dir, trainable=False)
    assert backbone.output_shape == (None, 1600) and not backbone.trainable_weights
    np.testing.assert_array_equal(backbone(PIXELS).numpy(), simclr_run.backbone(PIXELS).numpy())


def test_export_of_the_backbone_reloads(simclr_run, tmp_path):
    paths = kerapre.export(simclr_run.model, "simclr", base_dir=str(tmp_path), formats=("backbone", "keras"))
    want = simclr_run.backbone(PIXELS).numpy()
    for fmt in ("backbone", "keras"):
        backbone = kerapre.load_backbone(paths[fmt], trainable=False)
        np.testing.assert_allclose(backbone(PIXELS).numpy(), want, atol=1e-5)


def test_finetuning_from_the_run_keeps_a_frozen_backbone(simclr_run, tmp_path):
    original = [w.numpy() for w in simclr_run.backbone.weights]
    config = load_config(kerapre.config.FinetuneConfig, overrides=[
        f"backbone={simclr_run.model_dir}", "labels_per_class=2", "data.limit=300", "train.epochs=1"])
    result = kerapre.finetune_image(config, model_dir=str(tmp_path))
    assert result.train_examples == 20 and 0 <= result.test_accuracy <= 1
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(original, result.model.backbone.weights))


def test_no_label_is_read(monkeypatch, tmp_path):
    """Decoding any class label fails from here on: the supervised loader does, the SSL run does not."""
    def refuse(*args, **kwargs):
        raise AssertionError("a label was decoded")

    monkeypatch.setattr(tfds.features.ClassLabel, "decode_example", refuse)
    with pytest.raises(AssertionError, match="label was decoded"):
        kerapre.data.load_image_dataset("mnist_5k", "train")
    images = load_unlabelled_images("mnist_5k", "train")
    assert images.element_spec == tf.TensorSpec((28, 28, 1), tf.uint8)  # images, nothing else
    batches = unlabelled_pipeline(images.take(32), batch_size=16, image_shape=(28, 28, 1))
    assert batches.element_spec == tf.TensorSpec((16, 28, 28, 1), tf.float32)
    config = load_config(SSLPretrainConfig, overrides=[*TINY, "method=rotation", "train.epochs=1"])
    run = kerapre.pretrain_ssl(config, model_dir=str(tmp_path))
    assert isinstance(run.model, RotationPretrainer) and np.isfinite(run.history["loss"]).all()


@pytest.mark.parametrize("split", ["test", "test[:10%]", "train+test", "all"])
def test_the_mnist_5k_test_split_is_refused_as_an_unlabelled_source(split):
    with pytest.raises(ConfigError) as error:
        load_config(SSLPretrainConfig, overrides=["data.name=mnist_5k", f"data.split={split}"])
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"data.split {split!r} of mnist_5k is excluded as an unlabelled source")
    config = SSLPretrainConfig()
    config.data.name, config.data.split = "mnist_5k", split
    with pytest.raises(ConfigError, match="excluded"):  # the Python API validates too
        kerapre.pretrain_ssl(config, model_dir="unused")


def test_the_cli_refuses_the_test_split_in_one_line(in_tmp, capsys):
    assert cli.main(["pretrain", "simclr", "--set", "data.name=mnist_5k", "--set", "data.split=test"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kerapre: error: data.split 'test' of mnist_5k is excluded")
    assert not os.path.exists("runs")


def test_other_splits_and_an_empty_exclude_list_are_allowed():
    validate(load_config(SSLPretrainConfig, overrides=["data.name=mnist_5k", "data.split=train[:50%]"]))
    validate(load_config(SSLPretrainConfig, overrides=["data.name=mnist_5k", "data.split=test", "data.exclude=[]"]))


def test_too_few_images_for_one_batch_is_refused(tmp_path):
    config = load_config(SSLPretrainConfig, overrides=[*TINY, "data.limit=8"])
    with pytest.raises(DataError, match="8 images make no whole batch of 16"):
        kerapre.pretrain_ssl(config, model_dir=str(tmp_path))


@pytest.mark.parametrize("method", ["simclr", "rotation"])
def test_mirrored_strategy_over_two_cpus_trains(method, tmp_path):
    config = load_config(SSLPretrainConfig, overrides=[*TINY, f"method={method}", "train.strategy=mirrored",
                                                       "train.epochs=1"])
    run = kerapre.pretrain_ssl(config, model_dir=str(tmp_path))
    assert json.load(open(tmp_path / "run.json"))["replicas"] == 2
    assert np.isfinite(run.history["loss"]).all()


def test_any_tfds_image_set_is_a_source(tmp_path):
    with tfds.testing.mock_data(num_examples=32):  # CIFAR-10's spec, random pixels, offline
        config = load_config(SSLPretrainConfig, overrides=[
            "data.name=cifar10", "model.preset=cnn_cifar", "data.batch_size=16", "train.epochs=1", "train.verbose=0"])
        run = kerapre.pretrain_ssl(config, model_dir=str(tmp_path))
    assert run.images == 32 and run.backbone.input_shape == (None, 32, 32, 3)


def test_the_cli_runs_a_one_step_config(in_tmp, capsys):
    tiny = ["--set", "data.name=mnist_5k", "--set", "data.limit=16", "--set", "data.batch_size=16",
            "--set", "train.epochs=1", "--set", "train.verbose=0"]
    assert cli.main(["pretrain", "simclr", *tiny]) == 0
    out = capsys.readouterr().out
    assert "pretrained cnn_mnist with simclr on 16 unlabelled images of mnist_5k[train]" in out
    assert "next: kerapre export --model-dir runs/simclr_pretrain --format backbone --format keras" in out
    with open("runs/simclr_pretrain/metrics.csv") as f:
        assert len(list(csv.DictReader(f))) == 1
    # The sub-command names the method, whatever --set says.
    assert cli.main(["pretrain", "rotation", *tiny, "--set", "method=simclr"]) == 0
    assert json.load(open("runs/rotation_pretrain/run.json"))["method"] == "rotation"
    assert kerapre.load_backbone("runs/rotation_pretrain").output_shape == (None, 1600)
