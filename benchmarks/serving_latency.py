"""Latency of a text classifier's exported ``serving_default`` (raw strings in), and export sizes.

Loads the TF Serving export in this process the way TF Serving runs it (the SavedModel's
signature, no Keras), warms it up, then times single calls with 1 and 32 Rotten Tomatoes
test sentences: p50 and p99 over ``--repeats`` calls each, the two batch sizes alternated.
Without ``--export`` (or when it does not exist) it exports a freshly built bert_tiny
classifier (seq 64, as the quickstart's) to a temporary directory: latency does not depend
on the weights.

    python benchmarks/serving_latency.py [--export saved_models/rotten_tomatoes] [--repeats 200]
"""

import argparse
import os
import statistics
import tempfile
import time

from common import machine, save_result

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


def fresh_export():
    """Exports an untrained bert_tiny Rotten Tomatoes classifier (seq 64), all formats."""
    import keras

    from kerapre.data import BertTextPreprocessor
    from kerapre.data.vocab_learning import learn_vocabulary
    from kerapre.export import export
    from kerapre.models import BertEncoder
    from kerapre.tasks import TextClassifier

    vocab = learn_vocabulary("wiki_sample", 8192, show_progress=False)
    keras.utils.set_random_seed(0)
    model = TextClassifier(BertEncoder.from_preset("bert_tiny", vocabulary_size=len(vocab)), 2)
    base = tempfile.mkdtemp(prefix="kerapre_bench_serving_")
    export(model, "rotten_tomatoes", base_dir=base, label_names=["rotten", "fresh"],
           preprocessor=BertTextPreprocessor(vocab, sequence_length=64))
    return os.path.join(base, "rotten_tomatoes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", default="saved_models/rotten_tomatoes")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 calls each (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 20
    source = args.export
    if not os.path.isdir(args.export):
        args.export = fresh_export()
        source = "a freshly exported, untrained bert_tiny classifier (seq 64)"

    export_dir = latest_version_dir(args.export)
    base = os.path.dirname(os.path.normpath(export_dir))
    version = os.path.basename(os.path.normpath(export_dir))
    sizes = {}
    for suffix in ("", "-hub", "-keras"):
        path = os.path.join(base + suffix, version)
        if os.path.isdir(path):
            sizes[suffix or "serving"] = directory_megabytes(path)
            print(f"size {path}: {sizes[suffix or 'serving']:.1f} MB")

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
    rows = []
    for size, values in seconds.items():
        rows.append({"batch": size, "p50_ms": 1000 * statistics.median(values), "p99_ms": 1000 * percentile(values, 99),
                     "sentences_per_s": size / statistics.median(values)})
        print(f"serving_default, batch {size:2d}: p50 {rows[-1]['p50_ms']:.2f} ms, p99 {rows[-1]['p99_ms']:.2f} ms, "
              f"{rows[-1]['sentences_per_s']:.0f} sentences/s ({args.repeats} calls)")
    lines = [f"The exported raw-text `serving_default` of {source}, loaded with `tf.saved_model.load` the way "
             f"TF Serving runs it (no Keras), {args.repeats} calls per batch size after 10 warm-up calls, the two "
             "sizes alternated; `python benchmarks/serving_latency.py`.", "",
             "| batch | p50 (ms) | p99 (ms) | sentences/s (at p50) |", "|---|---|---|---|"]
    lines += [f"| {r['batch']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['sentences_per_s']:,.0f} |" for r in rows]
    lines += ["", "Export sizes: " + ", ".join(f"{k} {v:.1f} MB" for k, v in sizes.items()) + ". A real TF Serving "
              "server (gRPC/REST) adds its own overhead; none is available on this machine."]
    save_result("serving_latency", {"title": "Serving latency", "markdown": "\n".join(lines), "targets": [],
                                    "rows": rows, "sizes_mb": sizes, "machine": machine()})


if __name__ == "__main__":
    main()
