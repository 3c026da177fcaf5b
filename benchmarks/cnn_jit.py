"""Does XLA (`jit_compile=True`) speed up the 28x28 CNN's training step on this machine?

Per-step medians (timed around each step, after warm-up), the two settings alternated
in one process.  Usage: python benchmarks/cnn_jit.py [--steps 200] [--repeats 3]
"""

import argparse
import statistics

import keras
import numpy as np
import tensorflow as tf

from kerapre.models import CNN
from kerapre.training import StepTimer


def step_times(jit, images, labels, steps, batch):
    keras.utils.set_random_seed(0)
    model = CNN.from_preset("cnn_mnist")
    model.compile(keras.optimizers.Adam(), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit)
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch, drop_remainder=True).repeat().prefetch(4)
    timer = StepTimer()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
    return statistics.median(timer.seconds[20:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4096, 28, 28, 1)).astype("float32")
    labels = rng.integers(0, 10, 4096)
    results = {False: [], True: []}
    for _ in range(args.repeats):
        for jit in (False, True):
            results[jit].append(step_times(jit, images, labels, args.steps, args.batch))
    for jit, values in results.items():
        med = statistics.median(values)
        print(f"jit_compile={jit!s:5s}: median step {med * 1000:.2f} ms, {args.batch / med:,.0f} images/s "
              f"(repeats: {', '.join(f'{v * 1000:.2f}' for v in values)} ms)")
    print(f"ratio (XLA / no XLA step time): {statistics.median(results[True]) / statistics.median(results[False]):.2f}")


if __name__ == "__main__":
    main()
