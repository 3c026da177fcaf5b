import csv
import glob
import json
import os

import numpy as np
import pytest

import kerapre
from kerapre.config import CNNPretrainConfig, FinetuneConfig, load_config
from kerapre.errors import DataError
from kerapre.export.runs import load_image_run as load_run_model

TINY_PRETRAIN = ["data.name=mnist_5k", "data.limit=256", "data.batch_size=32", "train.epochs=3", "train.verbose=0"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("run") / "pretrain")
    config = load_config(CNNPretrainConfig, overrides=TINY_PRETRAIN)
    return kerapre.pretrain_cnn(config, model_dir=run_dir)


def test_pretraining_writes_everything_a_run_should(pretrained):
    d = pretrained.model_dir
    for name in ("config.yaml", "metrics.csv", "model.keras", "run.json"):
        assert os.path.exists(os.path.join(d, name)), name
    with open(os.path.join(d, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert glob.glob(os.path.join(d, "logs", "train", "events.out.tfevents.*"))
    assert sorted(os.listdir(os.path.join(d, "checkpoints"))) == [f"epoch-00{i}.weights.h5" for i in (1, 2, 3)]
    record = json.load(open(os.path.join(d, "run.json")))
    assert record["label_names"] == [str(i) for i in range(10)] and record["replicas"] == 1


def test_pretraining_loss_goes_down(pretrained):
    losses = pretrained.history["loss"]
    assert losses[-1] < losses[0]


def test_pretraining_under_mirrored_strategy(tmp_path):
    config = load_config(CNNPretrainConfig, overrides=TINY_PRETRAIN + ["train.strategy=mirrored", "train.epochs=2"])
    assert config.train.steps_per_execution == 8  # the default, which Keras cannot run here (keras#19246)
    with pytest.warns(UserWarning, match="runs as 1 under MirroredStrategy"):
        run = kerapre.pretrain_cnn(config, model_dir=str(tmp_path))
    assert json.load(open(tmp_path / "run.json"))["replicas"] == 2
    assert run.history["loss"][-1] < run.history["loss"][0]


def test_an_epoch_trains_exactly_its_steps_at_several_steps_per_call(tmp_path):
    # 256 images / 32 = 8 batches; at 3 steps per call Keras alone would run 9 per epoch.
    config = load_config(CNNPretrainConfig, overrides=TINY_PRETRAIN + ["train.steps_per_execution=3",
                                                                       "train.strategy=default"])
    run = kerapre.pretrain_cnn(config, model_dir=str(tmp_path))
    assert int(run.model.optimizer.iterations) == 3 * 6  # 3 epochs of 6 steps: whole calls
    assert run.model.steps_per_execution == 3


def test_wrong_image_shape_is_refused_before_training(tmp_path):
    config = load_config(CNNPretrainConfig, overrides=TINY_PRETRAIN + ["model.preset=cnn_cifar"])
    with pytest.raises(DataError, match=r"\(28, 28, 1\).*\(32, 32, 3\)"):
        kerapre.pretrain_cnn(config, model_dir=str(tmp_path))


def _finetune(backbone, trainable, tmp_path, *extra):
    config = load_config(FinetuneConfig, overrides=[
        f"backbone={backbone}", f"trainable={str(trainable).lower()}", "labels_per_class=5",
        "data.limit=600", "train.epochs=3", *extra,
    ])
    return kerapre.finetune_image(config, model_dir=str(tmp_path))


def test_finetune_frozen_from_the_run_keeps_backbone_weights(pretrained, tmp_path):
    original = [w.numpy() for w in kerapre.models.backbone_of(pretrained.model).weights]
    result = _finetune(pretrained.model_dir, False, tmp_path)
    assert result.train_examples == 50
    tuned = result.model.backbone.weights
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(original, tuned))
    assert 0.0 <= result.test_accuracy <= 1.0
    assert os.path.exists(tmp_path / "metrics.csv") and os.path.exists(tmp_path / "model.keras")


def test_finetune_from_a_saved_model_export_rebuilds_from_weights(pretrained, tmp_path):
    paths = kerapre.export(pretrained.model, "p", base_dir=str(tmp_path / "exports"), formats=("backbone",))
    result = _finetune(paths["backbone"], True, tmp_path / "run")
    assert not os.path.exists(tmp_path / "run" / "model.keras")  # would need safe_mode=False to load
    reloaded = load_run_model(str(tmp_path / "run"))
    x = np.random.default_rng(0).uniform(0, 255, (3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(reloaded(x).numpy(), result.model(x).numpy(), atol=1e-5)


def test_two_phase_trains_head_then_everything(pretrained, tmp_path):
    result = _finetune(pretrained.model_dir, True, tmp_path, "two_phase=true", "unfreeze_epochs=2")
    assert len(result.history["loss"]) == 5
    assert result.model.backbone.trainable


def test_scratch_finetune_needs_no_backbone(tmp_path):
    result = _finetune("scratch", True, tmp_path)
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_two_phase_keeps_both_phases_in_metrics_csv(pretrained, tmp_path):
    _finetune(pretrained.model_dir, True, tmp_path, "two_phase=true", "unfreeze_epochs=2")
    with open(tmp_path / "metrics.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [0, 1, 2, 3, 4]


def test_keras_export_of_a_saved_model_backed_model_is_refused(pretrained, tmp_path):
    paths = kerapre.export(pretrained.model, "p", base_dir=str(tmp_path), formats=("backbone",))
    model = kerapre.tasks.ImageClassifier(kerapre.load_backbone(paths["backbone"]), num_classes=10)
    with pytest.raises(kerapre.ExportError, match="safe_mode"):
        kerapre.export(model, "ft", base_dir=str(tmp_path), formats=("keras",))
    assert kerapre.export(model, "ft", base_dir=str(tmp_path), formats=("serving",))["serving"]
