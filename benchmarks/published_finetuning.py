"""Fine-tuning a published encoder: kerapre vs ``keras_hub.models.BertTextClassifier.from_preset``,
both reading the same Hugging Face directory (all-MiniLM-L6-v2, ``minilm_l6``), on Rotten Tomatoes.

- kerapre: ``load_encoder("minilm_l6")`` (kerapre's reader, the checkpoint's exact GELU),
  ``TextClassifier`` with ``head.pooling: mean``, its ``text_pipeline`` (tokenised once, dynamic
  padding, length bucketing, max length 128), ``precision: auto``; accuracy through
  ``kerapre.finetune_text`` with the quickstart's settings (sequence 48, learning rate 1e-4).
- keras-hub: ``BertTextClassifier.from_preset(<the same directory>, num_classes=2)`` (its own
  Hugging Face converter, its ``[CLS]`` pooled head), raw strings through its preprocessor at
  its default sequence length and at 64, fp32 and ``mixed_bfloat16`` at 64 and its faster
  precision at the default length, Keras's default ``jit_compile="auto"``; accuracy at 64 in its
  faster precision with its own compile defaults (Adam 5e-5).

Throughput: examples per second per step (batches ÷ summed step time), sides alternated round
by round. Accuracy: both train on the same labelled subset (``--labels-per-class`` per class,
fixed seed) for ``--epochs`` epochs, batch 32, and are tested on the whole 1,284-sentence test split.

    python benchmarks/published_finetuning.py [--rounds 2] [--steps 6] [--seeds 1] [--quick]
"""

import argparse
import math
import os

from common import keras_step_fit, machine, mean_std, save_result, step_medians

BATCH = 32
PUBLISHED = "minilm_l6"
KERAPRE = "kerapre (mean pooling, dynamic padding + bucketing, max 128, auto precision)"


def texts(split, labels_per_class=None, seed=0):
    from kerapre.data import load_text_classification, split_labelled_texts

    ds = load_text_classification("rotten_tomatoes", split)
    if labels_per_class:
        ds, _ = split_labelled_texts(ds, labels_per_class, 2, seed)
    return ds


def kerapre_side(seq_length=128, seed=0):
    import keras

    from kerapre.config import TextTrainConfig
    from kerapre.data import BertTextPreprocessor, text_pipeline
    from kerapre.distribute import set_precision
    from kerapre.export.encoders import load_encoder
    from kerapre.tasks import TextClassifier
    from kerapre.training.compile import compile_classifier

    keras.utils.set_random_seed(seed)
    set_precision("auto")
    encoder, vocab = load_encoder(PUBLISHED, trainable=True)
    model = TextClassifier(encoder, 2, pooling="mean")
    compile_classifier(model, TextTrainConfig(), 1e-4)
    preprocessor = BertTextPreprocessor(vocab, sequence_length=seq_length, lowercase=True)
    stream = text_pipeline(texts("train"), preprocessor, batch_size=BATCH, training=True, seed=seed,
                           pad_to_longest=True, bucket_by_length=True).repeat()
    return model, stream


def keras_hub_classifier(precision, seq_length=None, seed=0):
    """keras-hub's classifier from the same directory; ``seq_length=None`` keeps its default."""
    import keras
    import keras_hub

    from kerapre.export.published import published_directory

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_dtype_policy(precision)
    model = keras_hub.models.BertTextClassifier.from_preset(published_directory(PUBLISHED), num_classes=2)
    if seq_length:
        model.preprocessor.sequence_length = seq_length
    model.compile()  # its defaults: Adam 5e-5, sparse cross-entropy, accuracy, jit_compile="auto"
    return model


def keras_hub_side(precision, seq_length=None, seed=0):
    model = keras_hub_classifier(precision, seq_length, seed)
    return model, texts("train").shuffle(20_000, seed=seed).batch(BATCH).repeat()


def time_sides(builders, rounds, steps):
    import keras

    sides = {}
    for name, build in builders.items():
        model, stream = build()
        sides[name] = keras_step_fit(model, stream)
    keras.mixed_precision.set_dtype_policy("float32")
    timings = step_medians(sides, rounds=rounds, steps=steps, warmup=2)
    rows = []
    for name, timing in timings.items():
        rows.append({"side": name, **timing, "examples_per_s": BATCH * timing["steps"] / timing["sum_s"]})
        print(f"{name:80s} {timing['median_s'] * 1000:8.0f} ms/step  {rows[-1]['examples_per_s']:6.1f} ex/s")
    return rows


def default_length():
    import keras_hub

    from kerapre.export.published import published_directory

    preprocessor = keras_hub.models.BertTextClassifierPreprocessor.from_preset(published_directory(PUBLISHED))
    return preprocessor.sequence_length


def accuracy(hub_precision, labels_per_class, epochs, seeds):
    import keras

    from kerapre.config import FinetuneTextConfig, load_config
    from kerapre.workflows.finetune_text import finetune_text

    out = {"kerapre": [], "keras_hub_64": [], "fit_s": {"kerapre": [], "keras_hub_64": []}}
    for seed in seeds:
        config = load_config(FinetuneTextConfig, overrides=[
            f"backbone={PUBLISHED}", f"labels_per_class={labels_per_class}", "data.seq_length=48",
            "head.pooling=mean", "train.learning_rate=1e-4", f"train.epochs={epochs}", f"train.seed={seed}",
            "train.verbose=0"])
        result = finetune_text(config, log=lambda *_: None)
        out["kerapre"].append(result.test_accuracy)
        out["fit_s"]["kerapre"].append(result.seconds)

        import time

        model = keras_hub_classifier(hub_precision, 64, seed)
        start = time.perf_counter()
        model.fit(texts("train", labels_per_class, seed).shuffle(20_000, seed=seed).batch(BATCH), epochs=epochs,
                  verbose=0)
        out["fit_s"]["keras_hub_64"].append(time.perf_counter() - start)
        scores = model.evaluate(texts("test").batch(128), verbose=0, return_dict=True)
        out["keras_hub_64"].append(float(scores["sparse_categorical_accuracy"]))
        keras.mixed_precision.set_dtype_policy("float32")
        print(f"seed {seed}: kerapre {out['kerapre'][-1]:.4f} ({out['fit_s']['kerapre'][-1]:.0f} s), keras-hub at 64 "
              f"{out['keras_hub_64'][-1]:.4f} ({out['fit_s']['keras_hub_64'][-1]:.0f} s)")
    return out


def markdown(rows, acc, length, args):
    ours = next(r for r in rows if r["side"] == KERAPRE)
    hub = [r for r in rows if r["side"].startswith("keras_hub")]
    best_hub = max(hub, key=lambda r: r["examples_per_s"])
    at_default = [r for r in hub if f" {length} " in r["side"] + " "]
    lines = [
        f"all-MiniLM-L6-v2 (`minilm_l6`: 6 layers, hidden 384) from the same Hugging Face directory on both sides, "
        f"Rotten Tomatoes training sentences, batch {BATCH}; `python benchmarks/published_finetuning.py`. "
        f"{args.rounds} rounds × {args.steps} timed steps per side, alternated; examples/s = batches ÷ summed step "
        "time.",
        "",
        "| side | median step (ms) | examples/s |",
        "|---|---|---|",
    ]
    lines += [f"| {r['side']} | {r['median_s'] * 1000:,.0f} | {r['examples_per_s']:.1f} |" for r in rows]
    ratio = ours["examples_per_s"] / best_hub["examples_per_s"]
    lines += ["", f"kerapre vs keras-hub's best ({best_hub['side']}): **{ratio:.1f}×**"
              + (f"; vs keras-hub at its default length {length} ({at_default[0]['side']}): "
                 f"**{ours['examples_per_s'] / at_default[0]['examples_per_s']:.1f}×**." if at_default else ".")]
    k_mean, k_std = mean_std(acc["kerapre"])
    h_mean, h_std = mean_std(acc["keras_hub_64"])
    lines += ["", f"Test accuracy (1,284 test sentences, majority class 0.576) after {args.epochs} epochs on "
                  f"{args.labels_per_class} labelled sentences per class, {len(acc['kerapre'])} seed(s): kerapre "
                  f"(mean pooling, sequence 48, AdamW 1e-4 with warm-up) {k_mean:.4f} ± {k_std:.4f}; keras-hub at 64 "
                  f"(`[CLS]` pooled head, Adam 5e-5, its defaults) {h_mean:.4f} ± {h_std:.4f}. Whole fits: kerapre "
                  f"{', '.join(f'{s:.0f}' for s in acc['fit_s']['kerapre'])} s (validation after each epoch "
                  f"included), keras-hub {', '.join(f'{s:.0f}' for s in acc['fit_s']['keras_hub_64'])} s."]
    targets = [{"target": "published-encoder fine-tuning examples/s vs keras-hub's best", "goal": "faster",
                "measured": f"{ratio:.1f}×", "met": ratio > 1},
               {"target": "published-encoder fine-tuning accuracy vs keras-hub", "goal": "not lower",
                "measured": f"{k_mean - h_mean:+.4f}", "met": k_mean >= h_mean - max(k_std, h_std)}]
    return "\n".join(lines), targets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--labels-per-class", type=int, default=750)
    parser.add_argument("--quick", action="store_true", help="2 steps, 50 labels per class, 1 epoch (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.steps, args.epochs, args.labels_per_class = 1, 2, 1, 50
    length = default_length()
    print(f"keras-hub's default sequence length for this preset: {length}")
    rows = time_sides({
        KERAPRE: kerapre_side,
        "keras_hub 64 fp32": lambda: keras_hub_side("float32", 64),
        "keras_hub 64 bf16": lambda: keras_hub_side("mixed_bfloat16", 64),
    }, args.rounds, args.steps)
    faster = max((r for r in rows if r["side"].startswith("keras_hub")), key=lambda r: r["examples_per_s"])
    hub_precision = "mixed_bfloat16" if faster["side"].endswith("bf16") else "float32"
    short = "bf16" if hub_precision == "mixed_bfloat16" else "fp32"
    # Its default length is slow (a step is many seconds): one round, in its faster precision.
    rows += time_sides({f"keras_hub {length} {short}": lambda: keras_hub_side(hub_precision)},
                       1, max(2, math.ceil(args.steps / 2)))
    acc = accuracy(hub_precision, args.labels_per_class, args.epochs, range(args.seeds))
    body, targets = markdown(rows, acc, length, args)
    print(body)
    save_result("published_finetuning", {
        "title": "Fine-tuning a published encoder (MiniLM, Rotten Tomatoes)", "markdown": body, "targets": targets,
        "rows": rows, "accuracy": acc, "default_length": length, "machine": machine(), "quick": args.quick,
        "config": {"rounds": args.rounds, "steps": args.steps, "epochs": args.epochs,
                   "labels_per_class": args.labels_per_class, "seeds": args.seeds}})


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
