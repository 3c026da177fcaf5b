"""Latency of a text classifier's exported ``serving_default`` (raw strings in), and export sizes.

Loads the TF Serving export in this process the way TF Serving runs it (the SavedModel's
signature, no Keras), warms it up, then times single calls with 1 and 32 Rotten Tomatoes
test sentences: p50 and p99 over ``--repeats`` calls each, the two batch sizes alternated.

    python benchmarks/serving_latency.py --export saved_models/rotten_tomatoes --repeats 200
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401  (registers the tokenizer ops)

from kerapre.data import load_text_classification  # noqa: E402
from kerapre.export.layout import latest_version_dir  # noqa: E402


def directory_megabytes(path):
    total = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)
    return total / 1e6


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", default="saved_models/rotten_tomatoes")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    export_dir = latest_version_dir(args.export)
    base = os.path.dirname(os.path.normpath(export_dir))
    version = os.path.basename(os.path.normpath(export_dir))
    for suffix in ("", "-hub", "-keras"):
        path = os.path.join(base + suffix, version)
        if os.path.isdir(path):
            print(f"size {path}: {directory_megabytes(path):.1f} MB")

    signature = tf.saved_model.load(export_dir).signatures["serving_default"]
    texts = [t.decode() for t, _ in load_text_classification("rotten_tomatoes", "test").take(64).as_numpy_iterator()]
    batches = {1: tf.constant(texts[:1]), 32: tf.constant(texts[:32])}
    for batch in batches.values():  # warm-up
        for _ in range(10):
            signature(text=batch)
    seconds = {size: [] for size in batches}
    for _ in range(args.repeats):
        for size, batch in batches.items():
            start = time.perf_counter()
            signature(text=batch)["probabilities"].numpy()
            seconds[size].append(time.perf_counter() - start)
    for size, values in seconds.items():
        print(f"serving_default, batch {size:2d}: p50 {1000 * statistics.median(values):.2f} ms, "
              f"p99 {1000 * percentile(values, 99):.2f} ms, {size / statistics.median(values):.0f} sentences/s "
              f"({args.repeats} calls)")


if __name__ == "__main__":
    main()
