"""Exact resume after SIGKILL, the NaN stop, and the backup file itself."""

import csv
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerapre.config import CNNPretrainConfig, load_config
from kerapre.data import load_image_dataset
from kerapre.errors import TrainingError
from kerapre.training import RunBackup
from kerapre.training import run as run_skeleton
from kerapre.training.backup import STATE_FILE
from kerapre.workflows import pretrain_cnn as cnn_workflow
import bert_reference
from helpers import topic_corpus
from test_pretrain_bert import TINY as BERT_TINY

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Runs the CLI with op determinism on and one extra callback that records the position in
# the data, sleeps after each step when $SLOW is set (so the test can kill it mid-epoch) and
# SIGKILLs its own process after step $KILL_AT ("epoch batch", 0-based) when that is set (in
# a multi-worker cluster, only worker $KILL_WORKER when that is set).
CLI_WITH_PROGRESS = textwrap.dedent("""
    import json, os, signal, sys, time
    import keras, tensorflow as tf
    from kerapre import cli
    from kerapre.training import run

    tf.config.experimental.enable_op_determinism()
    worker = str(json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0))

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            with open(os.environ["PROGRESS"], "w") as f:
                f.write(f"{self.epoch} {batch}")
            if (os.environ.get("KILL_AT") == f"{self.epoch} {batch}"
                    and os.environ.get("KILL_WORKER", worker) == worker):
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(float(os.environ.get("SLOW", "0")))

    standard = run.standard_callbacks
    run.standard_callbacks = lambda *args, **kwargs: [*standard(*args, **kwargs), Progress()]
    sys.exit(cli.main(sys.argv[1:]))
""")

TINY = ["data.name=mnist_5k", "data.limit=96", "data.batch_size=16", "train.epochs=3", "train.verbose=0",
        "train.strategy=default", "train.precision=float32",
        "train.steps_per_execution=1"]  # 6 steps per epoch, each seen by the callback that kills


def cli_command(tmp_path, run_dir, kind="cnn", overrides=TINY):
    script = tmp_path / "cli_with_progress.py"
    script.write_text(CLI_WITH_PROGRESS)
    args = [sys.executable, str(script), "pretrain", kind, "--model-dir", str(run_dir)]
    for override in overrides:
        args += ["--set", override]
    return args


def cli_env(tmp_path, **extra):
    return {**os.environ, "PROGRESS": str(tmp_path / "progress"), **extra,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def final_weights(run_dir):
    return keras.saving.load_model(run_dir / "model.keras").get_weights()


@pytest.mark.parametrize("steps_per_call", [1, 3])  # 3: an epoch of 6 steps is 2 calls, killed after the first
def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_weights(tmp_path, steps_per_call):
    load_image_dataset("mnist_5k", "train")  # prepared once, here, not in the subprocesses
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    overrides = [*TINY, f"train.steps_per_execution={steps_per_call}"]
    done = subprocess.run(cli_command(tmp_path, whole, overrides=overrides), env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (whole / "backup").exists(), "a completed run keeps no backup"

    proc = subprocess.Popen(cli_command(tmp_path, killed, overrides=overrides), env=cli_env(tmp_path, SLOW="0.3"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    position = None
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                position = tuple(int(x) for x in (tmp_path / "progress").read_text().split())
            except (FileNotFoundError, ValueError):
                position = None
            if (killed / "backup" / STATE_FILE).exists() and position and position[0] == 1 and position[1] >= 2:
                os.kill(proc.pid, signal.SIGKILL)  # mid-epoch 2: its first 3 steps are lost
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None and proc.returncode is None:
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"the run ended by itself (at {position}) before it could be killed"
    assert not (killed / "model.keras").exists()
    with np.load(killed / "backup" / STATE_FILE) as state:
        assert '"epochs_done": 1' in str(state["meta"])

    resumed = subprocess.run(cli_command(tmp_path, killed, overrides=overrides), env=cli_env(tmp_path),
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resume_lines = [line for line in resumed.stdout.splitlines() if "resuming" in line]
    assert resume_lines == [f"[cnn_pretrain] resuming: {killed / 'backup'} holds epoch 1 of 3 of a run that stopped "
                            "before its end; training goes on from epoch 2"]
    assert "resuming" not in done.stdout
    for a, b in zip(final_weights(whole), final_weights(killed), strict=True):
        np.testing.assert_array_equal(a, b)
    with open(killed / "metrics.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]  # each epoch once
    assert not (killed / "backup").exists()


def launched(tmp_path, run_dir, timeout=240, **env):
    """Runs the CNN CLI as a 2-worker cluster through ``kerapre launch``, as a user would."""
    overrides = [o for o in TINY if not o.startswith("train.strategy=")] + ["train.strategy=multi_worker_mirrored"]
    command = [sys.executable, "-m", "kerapre.cli", "launch", "--workers", "2", "--",
               *cli_command(tmp_path, run_dir, overrides=overrides)]
    proc = subprocess.Popen(command, env=cli_env(tmp_path, TMPDIR=str(tmp_path), **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and its workers
        raise
    return proc.returncode, out, err


def test_a_two_worker_run_with_a_killed_worker_resumes_to_the_uninterrupted_weights(tmp_path):
    load_image_dataset("mnist_5k", "train")  # prepared once, before the workers race for it
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    code, out, err = launched(tmp_path, whole)
    assert code == 0, (out + err)[-3000:]

    # Worker 1 (not the chief) dies in the middle of the second epoch (3 global batches of 32):
    # the chief has backed up epoch 1. Left alone, the chief would stop 1-10 s later on its own
    # (UnavailableError: a broken gRPC connection, or missed heartbeats); the launcher stops it
    # at once.
    code, out, err = launched(tmp_path, killed, KILL_AT="1 1", KILL_WORKER="1")
    assert code == 128 + signal.SIGKILL, (out + err)[-3000:]
    assert err.strip().splitlines()[-1] == "kerapre: error: worker 1 was killed by signal 9; stopped the other workers"
    assert not (killed / "model.keras").exists()
    with np.load(killed / "backup" / STATE_FILE) as state:
        assert '"epochs_done": 1' in str(state["meta"])

    code, out, err = launched(tmp_path, killed)  # the same command again
    assert code == 0, (out + err)[-3000:]
    for a, b in zip(final_weights(whole), final_weights(killed), strict=True):
        np.testing.assert_array_equal(a, b)
    with open(killed / "metrics.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]  # each epoch once
    assert not (killed / "backup").exists()
    assert not list(tmp_path.glob("kerapre-worker-*")), "the killed worker's scratch directory was left behind"


@pytest.mark.parametrize("init", [None, "hf_pretraining"])
def test_a_killed_bert_run_resumes_to_the_uninterrupted_weights(init, tmp_path):
    overrides = [f"data.corpus={topic_corpus(tmp_path / 'corpus.txt')}", *BERT_TINY, "train.steps=9",
                 "train.steps_per_epoch=3"]
    if init:  # continued pretraining of a published checkpoint (its MLM and NSP heads) resumes the same way
        w, config = bert_reference.random_checkpoint(vocab_size=60, positions=32, seed=3, scale=0.1)
        checkpoint = bert_reference.write_hf(tmp_path / init, w, config, prefixed=True)
        overrides.append(f"model.init={checkpoint}")
    whole = tmp_path / "whole"
    done = subprocess.run(cli_command(tmp_path, whole, "bert", overrides), env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = tmp_path / "killed"
    killed = subprocess.run(cli_command(tmp_path, run_dir, "bert", overrides), env=cli_env(tmp_path, KILL_AT="1 1"),
                            capture_output=True, text=True, timeout=180)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (run_dir / "pretrainer.keras").exists()
    with np.load(run_dir / "backup" / STATE_FILE) as state:
        assert '"epochs_done": 1' in str(state["meta"])
    resumed = subprocess.run(cli_command(tmp_path, run_dir, "bert", overrides), env=cli_env(tmp_path),
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"[bert_pretrain] resuming: {run_dir / 'backup'} holds epoch 1 of " in resumed.stdout
    with open(run_dir / "metrics.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]
    assert (tmp_path / "progress").read_text() == "2 2"  # the resumed run ended with the last step
    for a, b in zip(keras.saving.load_model(whole / "pretrainer.keras").get_weights(),
                    keras.saving.load_model(run_dir / "pretrainer.keras").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (run_dir / "backup").exists()


class DivergeAt(keras.callbacks.Callback):
    """Makes the weights diverge (the logits kernel NaN) before step ``step`` of epoch ``epoch``
    (1-based), as a too-high learning rate would."""

    def __init__(self, epoch, step):
        super().__init__()
        self.at, self.epoch = (epoch - 1, step - 1), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            kernel = self.model.get_layer("logits").kernel
            kernel.assign(tf.fill(kernel.shape, float("nan")))


def test_a_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    standard = run_skeleton.standard_callbacks
    monkeypatch.setattr(run_skeleton, "standard_callbacks", lambda *a, **k: [*standard(*a, **k), DivergeAt(2, 3)])
    config = load_config(CNNPretrainConfig, overrides=TINY)
    message = r"loss became nan at epoch 2, step 3: training stopped and .* keeps the checkpoint of epoch 1; lower"
    with pytest.raises(TrainingError, match=message):
        cnn_workflow.pretrain_cnn(config, model_dir=str(tmp_path))
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["epoch-001.weights.h5"]
    assert not (tmp_path / "model.keras").exists()
    with np.load(tmp_path / "backup" / STATE_FILE) as state:
        assert '"epochs_done": 1' in str(state["meta"])
        assert all(np.isfinite(state[k]).all() for k in state.files if k != "meta")
    with open(tmp_path / "metrics.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0"]


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.1), "mse")
    return model


def test_backups_are_whole_files_and_refused_for_another_config(tmp_path):
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    model = tiny_model()
    backup = RunBackup(str(tmp_path), fingerprint={"lr": 0.1}, remove_when_done=False)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[backup])
    assert os.listdir(tmp_path) == [STATE_FILE]  # the temporary file was renamed in

    restored = tiny_model()
    again = RunBackup(str(tmp_path), fingerprint={"lr": 0.1})
    assert again.epochs_done() == 2
    restored.fit(x, y, epochs=2, initial_epoch=2, verbose=0, callbacks=[again])  # no epoch left: restore only
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(restored.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) == 2
    assert not tmp_path.exists() or not os.listdir(tmp_path)  # removed when the run completed

    RunBackup(str(tmp_path), fingerprint={"lr": 0.1}, remove_when_done=False)  # nothing there: fine
    model.fit(x, y, epochs=1, verbose=0, callbacks=[RunBackup(str(tmp_path), {"lr": 0.1}, remove_when_done=False)])
    with pytest.raises(TrainingError, match="backup of a run with another config: .*delete"):
        RunBackup(str(tmp_path), fingerprint={"lr": 0.2})


def test_the_nan_message_of_a_run_without_checkpoints_promises_none(tmp_path):
    from kerapre.training import standard_callbacks

    model = tiny_model()
    x = np.full((4, 3), np.nan, "float32")
    with pytest.raises(TrainingError, match="step 1: training stopped and this run writes no checkpoints; lower"):
        model.fit(x, np.zeros((4, 2), "float32"), epochs=1, verbose=0,
                  callbacks=standard_callbacks(str(tmp_path), checkpoints=False))
