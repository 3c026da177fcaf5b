"""Does XLA (`jit_compile=True`) speed up kerapre's BERT pretraining step on this machine?

Per-step medians (timed around each step, after warm-up), the two settings alternated in
one process, on random token pairs (the step's cost does not depend on the text).
Usage: python benchmarks/bert_jit.py [--preset bert_tiny] [--steps 60] [--repeats 2]
"""

import argparse
import statistics

import keras
import numpy as np
import tensorflow as tf

from kerapre.data.masking import PretrainingMasker
from kerapre.distribute import set_precision
from kerapre.models.bert import BertEncoder
from kerapre.tasks.bert_pretrainer import BertPretrainer
from kerapre.training import StepTimer


def random_pairs(vocab_size, n, seq_length, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab_size, (n, seq_length)).astype("int32")
    ids[:, 0], ids[:, seq_length // 2], ids[:, -1] = 2, 3, 3
    segments = np.zeros_like(ids)
    segments[:, seq_length // 2 + 1:] = 1
    return {"token_ids": ids, "segment_ids": segments, "padding_mask": np.ones_like(ids),
            "next_sentence_label": rng.integers(0, 2, n).astype("int32")}


def median_step(preset, jit, steps, batch, seq_length, vocab):
    keras.utils.set_random_seed(0)
    pretrainer = BertPretrainer(BertEncoder.from_preset(preset, vocabulary_size=len(vocab)))
    pretrainer.compile(keras.optimizers.AdamW(1e-4), jit_compile=jit)
    ds = tf.data.Dataset.from_tensor_slices(random_pairs(len(vocab), batch * 8, seq_length))
    ds = ds.batch(batch, drop_remainder=True).map(PretrainingMasker(vocab, max_predictions=20)).cache().repeat()
    timer = StepTimer()
    pretrainer.fit(ds.prefetch(4), steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
    return timer.median(skip=10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="bert_tiny")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    print(f"precision: {set_precision(args.precision)}")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"t{i}" for i in range(8187)]
    results = {False: [], True: []}
    for _ in range(args.repeats):
        for jit in (False, True):
            results[jit].append(median_step(args.preset, jit, args.steps, args.batch, 128, vocab))
    for jit, values in results.items():
        med = statistics.median(values)
        print(f"jit_compile={jit!s:5s}: median step {med * 1000:.1f} ms, {args.batch / med:.0f} sequences/s "
              f"(repeats: {', '.join(f'{v * 1000:.1f}' for v in values)} ms)")
    print(f"ratio (XLA / no XLA step time): {statistics.median(results[True]) / statistics.median(results[False]):.2f}")


if __name__ == "__main__":
    main()
