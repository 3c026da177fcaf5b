import io
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from kerapre import cli
from kerapre.launch import launch, tf_config

ROOT = pathlib.Path(__file__).resolve().parents[1]

REPORT = ("import json, os\n"
          "task = json.loads(os.environ['TF_CONFIG'])\n"
          "for n in range(50):\n"
          "    print('line', task['task']['index'], n, ','.join(task['cluster']['worker']))\n")


def test_workers_get_their_tf_config_and_every_line_is_prefixed():
    out, err = io.StringIO(), io.StringIO()
    assert launch([sys.executable, "-c", REPORT], workers=2, out=out, err=err) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 100 and not err.getvalue()
    clusters = set()
    for index in (0, 1):
        mine = [line.split() for line in lines if line.startswith(f"[worker {index}] ")]
        assert [words[3:5] for words in mine] == [[str(index), str(n)] for n in range(50)]  # whole lines, in order
        clusters |= {words[5] for words in mine}
    [cluster] = clusters  # both workers see the same cluster of two free localhost ports
    ports = [address.split(":")[1] for address in cluster.split(",")]
    assert len(set(ports)) == 2 and cluster.startswith("localhost:")


def test_one_failing_worker_stops_the_others_and_is_named():
    program = ("import json, os, sys, time\n"
               "index = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
               "print('started', flush=True)\n"
               "time.sleep(0.5) if index == 1 else time.sleep(120)\n"
               "sys.exit(3)\n")
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    code = launch([sys.executable, "-c", program], workers=3, out=out, err=err, grace_seconds=2)
    assert code == 3
    assert time.monotonic() - start < 30, "the sleeping workers were not stopped"
    assert err.getvalue() == "kerapre: error: worker 1 exited with code 3; stopped the other workers\n"
    assert out.getvalue().count("started") == 3


def test_cli_launch_streams_and_fails_with_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    ok = subprocess.run([sys.executable, "-m", "kerapre.cli", "launch", "--workers", "2", "--",
                         sys.executable, "-c", "print('hello')"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and sorted(ok.stdout.splitlines()) == ["[worker 0] hello", "[worker 1] hello"]
    bad = subprocess.run([sys.executable, "-m", "kerapre.cli", "launch", "--workers", "2", "--",
                          sys.executable, "-c", "import sys; sys.exit(5)"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 5
    assert bad.stderr.strip().splitlines()[-1].startswith("kerapre: error: worker ")
    assert "exited with code 5" in bad.stderr


def test_launch_without_a_command_is_a_clear_error(capsys):
    assert cli.main(["launch", "--workers", "2"]) == 2
    assert "launch needs a command after --" in capsys.readouterr().err
    assert cli.main(["launch", "--workers", "0", "--", "true"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


def test_tf_config_names_the_cluster_and_the_task():
    config = json.loads(tf_config(["localhost:1", "localhost:2"], 1))
    assert config == {"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 1}}


@pytest.mark.parametrize("signal_code", [9])
def test_a_worker_killed_by_a_signal_is_reported(signal_code):
    program = ("import json, os, signal, time\n"
               "if json.loads(os.environ['TF_CONFIG'])['task']['index'] == 0:\n"
               f"    os.kill(os.getpid(), {signal_code})\n"
               "time.sleep(120)\n")
    err = io.StringIO()
    assert launch([sys.executable, "-c", program], workers=2, out=io.StringIO(), err=err, grace_seconds=2) == 137
    assert "worker 0 was killed by signal 9" in err.getvalue()


def test_launch_runs_a_two_worker_cnn_pretraining_end_to_end(tmp_path):
    from kerapre.data import load_image_dataset

    load_image_dataset("mnist_5k", "train")  # prepared once, before two workers race for it
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "kerapre.cli", "launch", "--workers", "2", "--", "kerapre", "pretrain", "cnn",
               "--model-dir", str(run_dir)]
    for override in ("data.name=mnist_5k", "data.limit=64", "data.batch_size=16", "train.epochs=1",
                     "train.verbose=0", "train.precision=float32", "train.strategy=multi_worker_mirrored"):
        command += ["--set", override]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # the launcher and its workers
        raise
    assert proc.returncode == 0, out[-3000:]
    for index in (0, 1):
        assert f"[worker {index}] pretrained cnn_mnist on mnist_5k" in out
    assert (run_dir / "model.keras").exists()
