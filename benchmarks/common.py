"""What every benchmark shares: per-step timing, alternation, the matmul peak, machine facts, results as JSON.

How to time on these machines: wall clocks show stalls of 10-20 s outside the steps, so the
headline is a per-step median (timed around each step, after warm-up), the sides alternated
round by round in one process; end-to-end wall time is reported beside it.
"""

import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

RESULTS_DIR = os.path.join(os.path.dirname(__file__), "results")


def step_medians(sides, *, rounds, steps, warmup=3):
    """Trains every side for ``warmup`` steps, then ``rounds`` times each side in turn for
    ``steps`` steps, timing every step.

    Args:
        sides: ``{name: fit(steps) -> list of step seconds}``.

    Returns:
        ``{name: {"median_s": median over all timed steps, "sum_s": their sum, "steps": their
        number, "round_medians_s": [...], "wall_s": [wall seconds of each round's fit]}}``.
    """
    for fit in sides.values():
        fit(warmup)  # traces, compiles and fills caches
    times = {name: [] for name in sides}
    rounds_out = {name: [] for name in sides}
    wall = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fit in sides.items():
            start = time.perf_counter()
            seconds = fit(steps)
            wall[name].append(time.perf_counter() - start)
            times[name].extend(seconds[1:])  # the first step of a fit call waits for the iterator
            rounds_out[name].append(statistics.median(seconds[1:]))
    return {name: {"median_s": statistics.median(times[name]), "sum_s": sum(times[name]),
                   "steps": len(times[name]), "round_medians_s": rounds_out[name],
                   "wall_s": wall[name]} for name in sides}


def keras_step_fit(model, dataset):
    """A ``fit(steps)`` for :func:`step_medians`: ``model.fit`` for ``steps`` steps of a
    repeated dataset (each call starts a new pass over it), every step timed by kerapre's
    ``StepTimer``."""
    from kerapre.training import StepTimer

    def fit(steps):
        timer = StepTimer()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
        return timer.seconds

    return fit


def mean_std(values):
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def matmul_peak(dtype, size=2048, repeats=20):
    """GFLOP/s of a ``size``³ ``tf.matmul`` in ``dtype`` (median over ``repeats``), the
    ceiling model-FLOPs utilisation is measured against."""
    import tensorflow as tf

    a = tf.random.normal([size, size], dtype=tf.float32)
    a = tf.cast(a, dtype)
    b = tf.cast(tf.random.normal([size, size], dtype=tf.float32), dtype)
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    matmul(a, b).numpy()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        seconds.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(seconds) / 1e9


def machine():
    """Facts the numbers depend on."""
    import keras
    import keras_hub
    import tensorflow as tf

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_hub": keras_hub.__version__,
        "gpus": len(tf.config.list_physical_devices("GPU")),
    }


def save_result(name, result):
    """Writes ``results/<name>.json``, which ``run_all.py`` renders into docs/benchmarks.md.

    ``result`` is JSON-able; ``run_all.py`` reads three keys of it: ``title`` (the section
    heading), ``markdown`` (the section body: set-up, a table of every side, notes) and
    ``targets`` (``[{"target": what, "goal": "≥ 2×", "measured": "2.4×", "met": bool}]``,
    gathered into the summary table). Everything else (raw timings) is kept for reference.
    """
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, f"{name}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")
