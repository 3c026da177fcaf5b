"""Learning-rate sweep for Rotten Tomatoes fine-tuning, chosen on the validation split.

Fine-tunes a pretrained BERT encoder three ways (scratch, frozen, trainable) at several
peak learning rates and seeds, and prints validation and test accuracy per setting, so the
defaults in ``kerapre.workflows.finetune_text.DEFAULT_LEARNING_RATES`` rest on a
measurement made on validation (test accuracy is printed, never used to choose).

    python benchmarks/text_finetune_sweep.py --backbone runs/quickstart/bert/pretrain \\
        --epochs 3 --seq-length 64 --seeds 0 --out runs/text_sweep.csv
"""

import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kerapre.config import FinetuneTextConfig, load_config  # noqa: E402
from kerapre.workflows.finetune_text import finetune_text  # noqa: E402

GRID = {
    "scratch": (1e-4, 3e-4, 1e-3),
    "frozen": (1e-3, 3e-3),
    "trainable": (5e-5, 1e-4, 3e-4, 1e-3),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", required=True, help="a BERT pretraining run")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seq-length", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", default=list(GRID))
    parser.add_argument("--learning-rates", type=float, nargs="+",
                        help="the rates to try for every method (default: each method's grid)")
    parser.add_argument("--labels-per-class", type=int, help="train on this many labels per class (default: all)")
    parser.add_argument("--out", default="runs/text_sweep.csv")
    args = parser.parse_args()

    rows = []
    for method in args.methods:
        for lr in args.learning_rates or GRID[method]:
            for seed in args.seeds:
                overrides = [
                    f"backbone={'scratch' if method == 'scratch' else args.backbone}",
                    f"trainable={'false' if method == 'frozen' else 'true'}",
                    f"data.seq_length={args.seq_length}",
                    f"data.vocab={os.path.join(args.backbone, 'vocab.txt')}",
                    f"train.epochs={args.epochs}",
                    f"train.learning_rate={lr}",
                    f"train.seed={seed}",
                    "train.verbose=0",
                ] + ([f"labels_per_class={args.labels_per_class}"] if args.labels_per_class else [])
                result = finetune_text(load_config(FinetuneTextConfig, overrides=overrides), model_dir=None,
                                       log=lambda *_: None)
                row = {"method": method, "backbone": args.backbone, "labels_per_class": args.labels_per_class,
                       "learning_rate": lr, "seed": seed, "epochs": args.epochs,
                       "seq_length": args.seq_length,
                       "validation_accuracy": round(result.validation_accuracy, 4),
                       "test_accuracy": round(result.test_accuracy, 4),
                       "test_majority_rate": round(result.test_majority_rate, 4),
                       "fit_seconds": round(result.seconds, 1)}
                print(row, flush=True)
                rows.append(row)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for method in args.methods:
        best = max((r for r in rows if r["method"] == method), key=lambda r: r["validation_accuracy"])
        print(f"best {method} on validation: lr {best['learning_rate']:g} "
              f"(validation {best['validation_accuracy']:.4f}, test {best['test_accuracy']:.4f})")


if __name__ == "__main__":
    main()
