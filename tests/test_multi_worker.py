"""Two worker processes on localhost, started by ``kerapre launch``, train every workflow under
MultiWorkerMirroredStrategy with ``model.fit``.

Each run trains a few steps on tiny data; the workers must end with identical weights, only
the chief may leave files, and the loss must match one process training on the same global
batch.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kerapre.data import load_image_dataset
from helpers import topic_corpus
from test_pretrain_bert import TINY as BERT_TINY

ROOT = pathlib.Path(__file__).resolve().parents[1]

WORKER = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    from kerapre import config as cfg, distribute

    kind, model_dir, out, split, *overrides = sys.argv[1:]
    # A worker of `kerapre launch` finds its index in TF_CONFIG; the one-process reference is 0.
    out += str(json.loads(os.environ.get("TF_CONFIG", '{"task": {"index": 0}}'))["task"]["index"])
    if split == "split":
        distribute.split_cpu(2)  # one process, two replicas: the reference run
    if kind == "cnn":
        from kerapre.workflows.pretrain_cnn import pretrain_cnn
        run = pretrain_cnn(cfg.load_config(cfg.CNNPretrainConfig, overrides=overrides), model_dir=model_dir)
        model = run.model
    elif kind in ("simclr", "rotation"):
        from kerapre.workflows.pretrain_ssl import pretrain_ssl
        config = cfg.load_config(cfg.SSLPretrainConfig, overrides=[f"method={kind}", *overrides])
        run = pretrain_ssl(config, model_dir=model_dir)
        model = run.model
    elif kind == "finetune_image":
        from kerapre.workflows.finetune_image import finetune_image
        run = finetune_image(cfg.load_config(cfg.FinetuneConfig, overrides=overrides), model_dir=model_dir)
        model = run.model
    elif kind == "finetune_text":
        from kerapre.workflows.finetune_text import finetune_text
        config = cfg.load_config(cfg.FinetuneTextConfig, overrides=overrides)
        run = finetune_text(config, model_dir=model_dir, log=lambda *_: None)
        model = run.model
    else:
        from kerapre.workflows.pretrain_bert import pretrain_bert
        config = cfg.load_config(cfg.BertPretrainConfig, overrides=overrides)
        run = pretrain_bert(config, model_dir=model_dir, log=lambda *_: None)
        model = run.pretrainer
    np.savez(out + ".npz", *model.get_weights())
    with open(out + ".json", "w") as f:
        json.dump(run.history, f)
""")


def run_processes(tmp_path, name, kind, overrides, workers, timeout=150):
    """Runs WORKER as a cluster of ``workers`` processes (``multi_worker_mirrored``, through
    ``kerapre launch``), or for ``workers=0`` as one process mirrored over two logical CPUs;
    returns ``[(weights, history)]`` per process."""
    base = tmp_path / name
    base.mkdir()
    script = base / "worker.py"
    script.write_text(WORKER)
    scratch = base / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "TF_DETERMINISTIC_OPS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("TF_CONFIG", None)
    strategy = "multi_worker_mirrored" if workers else "mirrored"
    worker = [sys.executable, str(script), kind, str(base / "run"), str(base / "worker"),
              "nosplit" if workers else "split", *overrides, f"train.strategy={strategy}"]
    # The cluster starts as users start it: `kerapre launch` gives each worker its TF_CONFIG.
    args = [sys.executable, "-m", "kerapre.cli", "launch", "--workers", str(workers), "--", *worker] if workers \
        else worker
    with open(base / "processes.log", "w") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == 0, f"{name} exited {code}:\n" + (base / "processes.log").read_text()[-3000:]
    assert not list(scratch.iterdir()), "a non-chief worker left its temporary run directory behind"
    results = []
    for index in range(max(workers, 1)):
        with np.load(base / f"worker{index}.npz") as weights:
            results.append(([weights[f"arr_{i}"] for i in range(len(weights.files))],
                            json.loads((base / f"worker{index}.json").read_text())))
    return results


def assert_same_weights(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


# The reference is one process mirrored over two logical CPUs with the same global batch split
# the same way; only the all-reduce differs (gRPC between processes against in-process), so
# float32 sums may run in another order: relative error ~1e-7 per step, amplified a little by
# a dozen Adam steps. 1e-4 is far below any real difference (a wrong loss scale is off by 2x,
# a worker training on other batches by percents).
LOSS_RTOL = 1e-4


def test_cnn_pretraining_on_two_workers_matches_one_process(tmp_path):
    load_image_dataset("mnist_5k", "train")  # prepare the TFDS set once, before two processes race for it
    overrides = ["data.name=mnist_5k", "data.limit=96", "data.batch_size=8", "train.epochs=2", "train.verbose=0",
                 "train.precision=float32", "model.preset=cnn_mnist"]
    (chief, chief_history), (other, other_history) = run_processes(tmp_path, "cluster", "cnn", overrides, workers=2)
    assert_same_weights(chief, other)
    assert chief_history == other_history

    run = tmp_path / "cluster" / "run"
    assert {"model.keras", "metrics.csv", "run.json", "config.yaml"} <= set(os.listdir(run))
    assert json.loads((run / "run.json").read_text())["replicas"] == 2
    assert len((run / "metrics.csv").read_text().splitlines()) == 3  # header + 2 epochs, written once

    [(single, single_history)] = run_processes(tmp_path, "single", "cnn", overrides, workers=0)
    for key in ("loss", "val_loss"):
        assert chief_history[key] == pytest.approx(single_history[key], rel=LOSS_RTOL)
    for a, b in zip(chief, single):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


# BERT's pairs are written in 4 TFRecord shards, so each of the two workers reads 2 of them
# (FILE sharding) while one process reads all 4: the batches differ and the loss agrees only
# approximately. Over 6 steps from the same initial weights it stays near ln(vocabulary) +
# ln(2) whatever the batches, so 3% holds, and a wrongly scaled loss (2x) is still caught;
# workers that did not all-reduce would end with different weights.
BERT_LOSS_RTOL = 0.03


def test_bert_pretraining_on_two_workers_keeps_them_in_sync(tmp_path):
    corpus = topic_corpus(tmp_path / "corpus.txt")
    overrides = [f"data.corpus={corpus}", *BERT_TINY, "data.batch_size=8", "train.steps=6",
                 "train.steps_per_epoch=3", "model.preset=bert_tiny"]
    (chief, chief_history), (other, other_history) = run_processes(tmp_path, "cluster", "bert", overrides, workers=2)
    assert_same_weights(chief, other)
    assert (tmp_path / "cluster" / "run" / "pretrainer.keras").exists()

    [(_, single_history)] = run_processes(tmp_path, "single", "bert", overrides, workers=0)
    assert chief_history["loss"] == pytest.approx(single_history["loss"], rel=BERT_LOSS_RTOL)


def _matches_one_process(tmp_path, kind, overrides, run_files):
    """Two workers end with identical weights and history, only the chief's run directory
    holds files, and the losses match one process mirrored over two logical CPUs."""
    (chief, chief_history), (other, other_history) = run_processes(tmp_path, "cluster", kind, overrides, workers=2)
    assert_same_weights(chief, other)
    assert chief_history == other_history
    run = tmp_path / "cluster" / "run"
    assert set(run_files) <= set(os.listdir(run))
    assert json.loads((run / "run.json").read_text())["replicas"] == 2
    [(single, single_history)] = run_processes(tmp_path, "single", kind, overrides, workers=0)
    for key in chief_history:
        if key.endswith("loss"):
            assert chief_history[key] == pytest.approx(single_history[key], rel=LOSS_RTOL), key
    for a, b in zip(chief, single, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


IMAGES = ["data.name=mnist_5k", "data.limit=64", "data.batch_size=8", "train.epochs=2", "train.verbose=0",
          "train.precision=float32"]


@pytest.mark.parametrize("method", ["simclr", "rotation"])
def test_self_supervised_pretraining_on_two_workers_matches_one_process(tmp_path, method):
    load_image_dataset("mnist_5k", "train")
    _matches_one_process(tmp_path, method, IMAGES, {"model.keras", "metrics.csv", "config.yaml"})


def test_image_finetuning_on_two_workers_matches_one_process(tmp_path, cnn_file):
    load_image_dataset("mnist_5k", "train")
    overrides = [*IMAGES, "data.limit=400", f"backbone={cnn_file}", "trainable=true", "labels_per_class=4"]
    _matches_one_process(tmp_path, "finetune_image", overrides, {"model.keras", "metrics.csv", "config.yaml"})


def test_text_finetuning_on_two_workers_matches_one_process(tmp_path, pretrain_run):
    from kerapre.data.text_classification import load_text_classification

    load_text_classification("rotten_tomatoes", "train")
    overrides = [f"backbone={pretrain_run}", "data.limit=64", "data.seq_length=32", "data.batch_size=8",
                 "train.epochs=2", "train.verbose=0", "train.precision=float32"]
    _matches_one_process(tmp_path, "finetune_text", overrides, {"model.keras", "vocab.txt", "metrics.csv"})
