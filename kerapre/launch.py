"""Starting a multi-worker cluster on this machine: one process per worker, each with its
``TF_CONFIG``, their output merged line by line.

Examples:

```python
from kerapre.launch import launch

code = launch(["kerapre", "pretrain", "cnn", "--set", "train.strategy=multi_worker_mirrored"], workers=2)
```
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

from kerapre.errors import ConfigError


def free_ports(count, host="localhost"):
    """``count`` TCP ports that are free on ``host`` now."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(addresses, index):
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of ``addresses`` (worker 0 is the chief)."""
    return json.dumps({"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}})


def launch(command, workers=2, *, out=None, err=None, grace_seconds=5.0):
    """Runs ``command`` as ``workers`` worker processes on localhost and waits for them.

    Every line a worker prints goes to ``out`` prefixed ``[worker i]``. When a worker exits
    with an error, the others are stopped (SIGTERM, then SIGKILL after ``grace_seconds``) and
    one line naming it goes to ``err``. A leading ``kerapre`` runs this interpreter's
    ``kerapre`` (``python -m kerapre.cli``), so the workers use the same installation.

    Args:
        command: the worker program and its arguments.
        workers: how many processes.

    Returns:
        0 if every worker succeeded, else the first failing worker's exit code (128 + signal
        for a worker killed by a signal).
    """
    out, err = out or sys.stdout, err or sys.stderr
    if not command:
        raise ConfigError("launch needs a command after --, e.g. kerapre launch --workers 2 -- kerapre pretrain cnn")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if command[0] == "kerapre":
        command = [sys.executable, "-m", "kerapre.cli", *command[1:]]
    addresses = [f"localhost:{port}" for port in free_ports(workers)]
    lock = threading.Lock()
    procs, readers = [], []
    for index in range(workers):
        env = {**os.environ, "TF_CONFIG": tf_config(addresses, index), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1)
        procs.append(proc)
        reader = threading.Thread(target=_relay, args=(proc.stdout, f"[worker {index}] ", out, lock), daemon=True)
        reader.start()
        readers.append(reader)
    failed = None
    try:
        while failed is None and any(p.poll() is None for p in procs):
            failed = next((i for i, p in enumerate(procs) if p.poll() not in (None, 0)), None)
            time.sleep(0.05)
        if failed is None:
            failed = next((i for i, p in enumerate(procs) if p.returncode != 0), None)
    except KeyboardInterrupt:
        _stop(procs, grace_seconds)
        raise
    if failed is not None:
        _stop(procs, grace_seconds)
    for reader in readers:
        reader.join(timeout=grace_seconds)
    if failed is None:
        return 0
    code = procs[failed].returncode
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    with lock:
        print(f"kerapre: error: worker {failed} {how}; stopped the other workers", file=err, flush=True)
    return 128 - code if code < 0 else code


def _relay(stream, prefix, out, lock):
    for line in stream:
        with lock:
            out.write(prefix + line if line.endswith("\n") else prefix + line + "\n")
            out.flush()
    stream.close()


def _stop(procs, grace_seconds):
    running = [p for p in procs if p.poll() is None]
    for p in running:
        p.terminate()
    deadline = time.monotonic() + grace_seconds
    for p in running:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
