"""The run skeleton every workflow goes through (kerapre.training.run)."""

import csv
import dataclasses
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerapre.config import FinetuneConfig, TrainConfig, load_config
from kerapre.errors import DataError
from kerapre.run_record import read_run_record
from kerapre.training.run import TrainingRun
from kerapre.workflows.finetune_image import finetune_image


@dataclasses.dataclass
class Experiment:
    train: TrainConfig


def experiment(**train):
    return Experiment(TrainConfig(verbose=0, **train))


def tiny_data():
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(8)


def test_a_run_trains_in_phases_and_writes_its_record(tmp_path):
    with TrainingRun(experiment(epochs=2), str(tmp_path / "run"), task="finetune_image") as run:
        with run.scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            run.compile(model, loss="mse")
        first = run.fit(model, tiny_data(), epochs=2, checkpoints=False)
        run.fit(model, tiny_data(), epochs=3, initial_epoch=2, checkpoints=False)
        run.save_model(model)
        run.finish(data="tiny", train_examples=32)
    assert first["loss"][1] < first["loss"][0]
    assert len(run.history["loss"]) == 3 and run.fit_seconds > 0 and len(run.timer.seconds) == 12
    directory = tmp_path / "run"
    assert {"config.yaml", "metrics.csv", "model.keras", "run.json", "logs"} <= set(os.listdir(directory))
    with open(directory / "metrics.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]  # the second phase appended
    record = read_run_record(str(directory))
    assert (record.task, record.data, record.train_examples, record.replicas) == ("finetune_image", "tiny", 32, 1)
    assert record.final_metrics["loss"] == run.history["loss"][-1] and record.config["train"]["epochs"] == 2


def test_a_run_restores_the_callers_precision_policy():
    keras.mixed_precision.set_dtype_policy("float32")
    with TrainingRun(experiment(precision="mixed_bfloat16"), None, task="finetune_image") as run:
        assert keras.mixed_precision.dtype_policy().name == "mixed_bfloat16" == run.precision
    assert keras.mixed_precision.dtype_policy().name == "float32"


def test_a_run_that_fails_before_training_leaves_nothing_on_disk(tmp_path, cnn_file):
    config = load_config(FinetuneConfig, overrides=["data.name=mnist_5k", "data.limit=64", "labels_per_class=50",
                                                    f"backbone={cnn_file}"])
    with pytest.raises(DataError, match="labels_per_class=50"):
        finetune_image(config, model_dir=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
