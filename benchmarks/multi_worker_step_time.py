"""Median training-step time of one process against two multi-worker processes on this machine.

Trains ``cnn_mnist`` (MNIST-5k images) and a ``bert_tiny``-shaped encoder (random token ids,
masked-LM + next sentence) with ``model.fit`` for a fixed number of steps at the same global batch:
once as one process (default strategy), once as two workers started by ``kerapre.launch``
(``multi_worker_mirrored``, half the batch each, gradients all-reduced over gRPC on localhost).
Step times are timed around each step (``StepTimer``) and the median after warm-up is reported.

    PYTHONPATH=. python benchmarks/multi_worker_step_time.py [--steps 60]
"""

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys


def worker(model_name, steps, global_batch):
    """One training process: prints ``RESULT {json}`` with its median step time."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kerapre import distribute
    from kerapre.training import StepTimer

    strategy = distribute.get_strategy("auto")  # multi-worker when TF_CONFIG lists two workers
    keras.utils.set_random_seed(0)
    if model_name == "cnn":
        from kerapre.data import image_pipeline, load_image_dataset
        from kerapre.models import CNN

        ds = image_pipeline(load_image_dataset("mnist_5k", "train"), batch_size=global_batch, training=True,
                            repeat=True, drop_remainder=True)
        with strategy.scope():
            model = CNN.from_preset("cnn_mnist")
            model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    else:
        from kerapre.models import BertEncoder
        from kerapre.tasks import BertPretrainer

        seq, predictions, vocab = 128, 20, 8192
        rng = np.random.default_rng(0)
        n = 512
        features = {"token_ids": rng.integers(5, vocab, (n, seq)).astype("int32"),
                    "segment_ids": np.zeros((n, seq), "int32"), "padding_mask": np.ones((n, seq), "int32"),
                    "mask_positions": rng.integers(1, seq, (n, predictions)).astype("int32")}
        labels = {"mlm": rng.integers(5, vocab, (n, predictions)).astype("int32"),
                  "nsp": rng.integers(0, 2, (n,)).astype("int32")}
        weights = {"mlm": np.ones((n, predictions), "float32"), "nsp": np.ones((n,), "float32")}
        ds = tf.data.Dataset.from_tensor_slices((features, labels, weights)).repeat().batch(global_batch,
                                                                                             drop_remainder=True)
        with strategy.scope():
            model = BertPretrainer(BertEncoder.from_preset("bert_tiny", vocabulary_size=vocab))
            model.compile(keras.optimizers.AdamW(1e-4))
    ds = distribute.shard_by(ds, "data")
    timer = StepTimer()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
    print("RESULT " + json.dumps({"median_ms": 1000 * timer.median(skip=10),
                                  "replicas": strategy.num_replicas_in_sync}), flush=True)


def measure(model_name, workers, steps, global_batch):
    """Median step time in ms of each process of a run with ``workers`` processes."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", model_name, "--steps", str(steps),
               "--global-batch", str(global_batch)]
    if workers == 1:
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        text = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    else:
        from kerapre.launch import launch

        out = io.StringIO()
        if launch(command, workers=workers, out=out) != 0:
            raise SystemExit(out.getvalue()[-3000:])
        text = out.getvalue()
    return [json.loads(m) for m in re.findall(r"RESULT (\{.*\})", text)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--worker", choices=("cnn", "bert"), help=argparse.SUPPRESS)
    parser.add_argument("--global-batch", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps, args.global_batch)
    print(f"{os.cpu_count()} CPU cores; median step time after 10 warm-up steps, {args.steps} steps")
    print("| model | global batch | 1 process | 2 workers (each) |")
    print("|---|---|---|---|")
    for model_name, global_batch in (("cnn", 128), ("bert", 32)):
        one = measure(model_name, 1, args.steps, global_batch)[0]["median_ms"]
        two = [r["median_ms"] for r in measure(model_name, 2, args.steps, global_batch)]
        print(f"| {model_name} | {global_batch} | {one:.1f} ms | {statistics.mean(two):.1f} ms "
              f"({', '.join(f'{t:.1f}' for t in two)}) |", flush=True)


if __name__ == "__main__":
    main()
