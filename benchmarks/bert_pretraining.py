"""BERT pretraining step: kerapre's ``BertPretrainer`` vs ``keras_hub.models.BertMaskedLM``.

Same encoder shape (``bert_mini``: 4 layers, hidden 256, 4 heads, feed-forward 1024, the
30,522-token uncased vocabulary), sequence length 128, batch 32, 20 masked positions, AdamW
at the same learning rate, the same pre-masked batches (random tokens: a step's cost does not
depend on the text) cached in memory, so only the training step is timed. Every side is timed
per step and the sides alternate round by round (``common.step_medians``).

keras-hub is timed in fp32 and ``mixed_bfloat16``, each with and without XLA (its default
``jit_compile="auto"`` means XLA on), and its best is the reference. kerapre's MLM-only
pretrainer (``next_sentence=False``) is the fair pair, timed in fp32 and ``mixed_bfloat16``, each
with and without XLA, and as kerapre's ``precision: auto`` and ``jit_compile: auto`` pick them on
the machine it runs on (``kerapre mlm auto``); kerapre's MLM + NSP is reported too.

Model FLOPs per sequence (training = 3 × forward; matmuls only):
    forward = s·L·(8h² + 4hi + 4sh) + P·(2h² + 2hV) [+ 2h² pooler, MLM+NSP only]
with s = 128 tokens, L = 4 layers, h = 256, i = 1024, P = 20 masked positions, V = 30,522.
Utilisation = FLOPs per step / step time / the same-dtype 2048³ matmul rate measured here.

    python benchmarks/bert_pretraining.py [--rounds 3] [--steps 20] [--quick]
"""

import argparse
import os

from common import keras_step_fit, machine, matmul_peak, save_result, step_medians

SHAPE = dict(num_layers=4, hidden_dim=256, num_heads=4, intermediate_dim=1024)
VOCAB = 30522
SEQ, BATCH, MASKED = 128, 32, 20
AUTO = "kerapre mlm auto"  # precision and jit_compile as kerapre's `auto` picks them here


def model_flops_per_sequence(next_sentence):
    L, h, i, s, P, V = SHAPE["num_layers"], SHAPE["hidden_dim"], SHAPE["intermediate_dim"], SEQ, MASKED, VOCAB
    forward = s * L * (8 * h * h + 4 * h * i + 4 * s * h) + P * (2 * h * h + 2 * h * V)
    if next_sentence:
        forward += 2 * h * h
    return 3 * forward


def masked_batches(next_sentence, n=8, seed=0):
    """``n`` batches of random sentence pairs, masked by kerapre's masker, cached and repeated;
    keras-hub's format (``y = mask_ids``) for ``next_sentence=None``."""
    import numpy as np
    import tensorflow as tf

    from kerapre.data.masking import SPECIAL_TOKENS, PretrainingMasker

    vocab = list(SPECIAL_TOKENS) + [f"t{i}" for i in range(VOCAB - len(SPECIAL_TOKENS))]
    rng = np.random.default_rng(seed)
    ids = rng.integers(len(SPECIAL_TOKENS), VOCAB, (n * BATCH, SEQ)).astype("int32")
    ids[:, 0], ids[:, SEQ // 2], ids[:, -1] = 2, 3, 3
    segments = np.zeros_like(ids)
    segments[:, SEQ // 2 + 1:] = 1
    pairs = {"token_ids": ids, "segment_ids": segments, "padding_mask": np.ones_like(ids),
             "next_sentence_label": rng.integers(0, 2, n * BATCH).astype("int32")}
    tf.random.set_seed(seed)
    masker = PretrainingMasker(vocab, max_predictions=MASKED, next_sentence=bool(next_sentence))
    ds = tf.data.Dataset.from_tensor_slices(pairs).batch(BATCH, drop_remainder=True).map(masker).cache()
    if next_sentence is None:
        ds = ds.map(lambda x, y, w: (x, y["mlm"], w["mlm"]))
    return ds.repeat().prefetch(2)


def keras_hub_side(precision, jit):
    import keras
    import keras_hub

    keras.mixed_precision.set_dtype_policy(precision)
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=VOCAB, max_sequence_length=512, **SHAPE)
    model = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    model.compile(optimizer=keras.optimizers.AdamW(1e-4), jit_compile=jit)
    return keras_step_fit(model, masked_batches(None))


def kerapre_side(precision, jit, next_sentence, exact_perplexity=False):
    """kerapre's pretrainer; ``exact_perplexity`` adds the ``MaskedLMPerplexity`` metric
    (kerapre's default before it derived perplexity from the loss)."""
    import keras

    from kerapre.models import BertEncoder
    from kerapre.tasks.bert_pretrainer import BertPretrainer, MaskedLMPerplexity

    from kerapre.distribute import resolve_jit_compile, set_precision

    set_precision(precision)  # "auto": what kerapre picks on this machine
    jit = resolve_jit_compile(jit)
    keras.utils.set_random_seed(0)
    encoder = BertEncoder(vocabulary_size=VOCAB, **SHAPE)
    model = BertPretrainer(encoder, next_sentence=next_sentence)
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if exact_perplexity:
        metrics.append(MaskedLMPerplexity(name="perplexity"))
    model.compile(keras.optimizers.AdamW(1e-4), weighted_metrics={"mlm": metrics}, jit_compile=jit)
    return keras_step_fit(model, masked_batches(next_sentence))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="fewer sides and steps (a smoke run)")
    parser.add_argument("--sides", default=None, help="comma-separated side names to run (default: all)")
    args = parser.parse_args()

    import keras

    peaks = {"float32": matmul_peak("float32"), "bfloat16": matmul_peak("bfloat16")}
    print(f"2048³ matmul: fp32 {peaks['float32']:.0f} GFLOP/s, bf16 {peaks['bfloat16']:.0f} GFLOP/s")
    builders = {
        "keras_hub fp32 xla": lambda: keras_hub_side("float32", True),
        "keras_hub fp32": lambda: keras_hub_side("float32", False),
        "keras_hub bf16 xla": lambda: keras_hub_side("mixed_bfloat16", True),
        "keras_hub bf16": lambda: keras_hub_side("mixed_bfloat16", False),
        AUTO: lambda: kerapre_side("auto", "auto", False),
        "kerapre mlm fp32": lambda: kerapre_side("float32", False, False),
        "kerapre mlm fp32 xla": lambda: kerapre_side("float32", True, False),
        "kerapre mlm bf16": lambda: kerapre_side("mixed_bfloat16", False, False),
        "kerapre mlm bf16 xla": lambda: kerapre_side("mixed_bfloat16", True, False),
        "kerapre mlm bf16 exact-perplexity": lambda: kerapre_side("mixed_bfloat16", False, False, True),
        "kerapre mlm+nsp bf16": lambda: kerapre_side("mixed_bfloat16", False, True),
    }
    if args.sides:
        builders = {name: builders[name] for name in args.sides.split(",")}
    if args.quick:
        args.rounds, args.steps = 1, 4
    from kerapre.distribute import resolve_jit_compile, set_precision

    auto_choice = {"precision": set_precision("auto")}
    auto_choice["jit_compile"] = resolve_jit_compile("auto")
    print(f"precision auto -> {auto_choice['precision']}, jit_compile auto -> {auto_choice['jit_compile']}")
    sides = {}
    for name, build in builders.items():
        sides[name] = build()
    keras.mixed_precision.set_dtype_policy("float32")
    timings = step_medians(sides, rounds=args.rounds, steps=args.steps)
    rows = []
    for name, timing in timings.items():
        dtype = "bfloat16" if "bf16" in name or (name == AUTO and auto_choice["precision"] != "float32") else "float32"
        flops = model_flops_per_sequence("nsp" in name) * BATCH
        rows.append({
            "side": name, **timing,
            "sequences_per_s": BATCH / timing["median_s"],
            "gflop_per_step": flops / 1e9,
            "utilisation": flops / timing["median_s"] / 1e9 / peaks[dtype],
        })
        print(f"{name:24s} {timing['median_s'] * 1000:7.1f} ms/step  {BATCH / timing['median_s']:6.1f} seq/s  "
              f"MFU {rows[-1]['utilisation']:.0%}  (rounds {', '.join(f'{t * 1000:.0f}' for t in timing['round_medians_s'])} ms)")
    body, targets = markdown(rows, peaks, args.rounds, args.steps, auto_choice)
    save_result("bert_pretraining", {
        "title": "BERT pretraining step", "markdown": body, "targets": targets,
        "machine": machine(), "peaks_gflops": peaks, "rows": rows, "auto": auto_choice,
        "config": {"shape": SHAPE, "vocabulary": VOCAB, "sequence_length": SEQ, "batch": BATCH,
                   "masked": MASKED, "rounds": args.rounds, "steps": args.steps, "quick": args.quick},
    })


def markdown(rows, peaks, rounds, steps, auto_choice=None):
    by = {row["side"]: row for row in rows}
    hub = [row for row in rows if row["side"].startswith("keras_hub")]
    # The auto side repeats one of the explicit ones: kept out, so one setting is not timed twice for "best".
    ours = [row for row in rows if row["side"].startswith("kerapre mlm ") and "exact" not in row["side"]
            and row["side"] != AUTO]
    lines = [
        f"`bert_mini` shape (4 layers, hidden 256, 4 heads, feed-forward 1,024, vocabulary {VOCAB:,}), sequence "
        f"{SEQ}, batch {BATCH}, {MASKED} masked positions, AdamW; the same cached pre-masked batches for every side; "
        f"{rounds} rounds × {steps} timed steps per side, alternated; `python benchmarks/bert_pretraining.py`.",
        f"Same-run 2048³ matmul peak: fp32 **{peaks['float32']:.0f}** GFLOP/s, bf16 **{peaks['bfloat16']:.0f}** GFLOP/s.",
        "",
        "| side | median step (ms) | sequences/s | GFLOP/step | utilisation of same-dtype peak | round medians (ms) | wall per round (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['side']} | {row['median_s'] * 1000:.0f} | {row['sequences_per_s']:.1f} | {row['gflop_per_step']:.1f} | "
            f"{row['utilisation']:.0%} | {', '.join(f'{t * 1000:.0f}' for t in row['round_medians_s'])} | "
            f"{', '.join(f'{t:.1f}' for t in row['wall_s'])} |")
    targets = []
    if hub and ours:
        best_hub = max(hub, key=lambda r: r["sequences_per_s"])
        best = max(ours, key=lambda r: r["sequences_per_s"])
        ratio = best["sequences_per_s"] / best_hub["sequences_per_s"]
        lines += ["", f"Best kerapre MLM-only ({best['side']}) vs keras-hub's best ({best_hub['side']}): "
                      f"**{ratio:.2f}×** sequences/s; utilisation {best['utilisation']:.0%}."]
        targets += [
            {"target": "BERT pretraining vs keras-hub's best (MLM-only pair)", "goal": "≥ 1.15×",
             "measured": f"{ratio:.2f}×", "met": ratio >= 1.15},
            {"target": "BERT pretraining utilisation of the same-dtype matmul peak", "goal": "≥ 50%",
             "measured": f"{best['utilisation']:.0%}", "met": best["utilisation"] >= 0.5},
        ]
    if auto_choice and AUTO in by:
        fp32, fp32_xla = by.get("kerapre mlm fp32"), by.get("kerapre mlm fp32 xla")
        bf16, bf16_xla = by.get("kerapre mlm bf16"), by.get("kerapre mlm bf16 xla")
        lines += ["", f"`precision: auto` picks **{auto_choice['precision']}** and `jit_compile: auto` **XLA "
                      f"{'on' if auto_choice['jit_compile'] else 'off'}** on this machine: "
                      f"{by[AUTO]['median_s'] * 1000:.0f} ms/step."]
        if fp32 and fp32_xla:
            lines[-1] += f" XLA on float32: {fp32['median_s'] / fp32_xla['median_s']:.2f}× faster"
        if bf16 and bf16_xla:
            lines[-1] += f"; on bfloat16: {bf16['median_s'] / bf16_xla['median_s']:.2f}× faster"
        lines[-1] += " (below 1: slower)."
    exact, derived = by.get("kerapre mlm bf16 exact-perplexity"), by.get("kerapre mlm bf16")
    if exact and derived:
        lines += ["", f"Perplexity from the loss instead of a `MaskedLMPerplexity` metric: "
                      f"{exact['median_s'] / derived['median_s']:.2f}× ({exact['median_s'] * 1000:.0f} → "
                      f"{derived['median_s'] * 1000:.0f} ms)."]
    lines += ["", "FLOPs per sequence (training = 3 × forward, matmuls only): forward = s·L·(8h² + 4hi + 4sh) + "
                  "P·(2h² + 2hV) (+ 2h² for the NSP pooler), s = 128, L = 4, h = 256, i = 1,024, P = 20, V = 30,522: "
                  f"{model_flops_per_sequence(False) / 1e9:.2f} GFLOP per sequence (MLM only)."]
    return "\n".join(lines), targets


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
