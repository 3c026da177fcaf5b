"""One summariser and one verdict rule for runs repeated over seeds.

Every table kerapre prints about fine-tuning runs — the quickstart's and the
label-efficiency report's — is made here: :func:`summarise` groups the runs and gives the mean,
standard deviation and standard error of test accuracy (and the mean validation accuracy);
:func:`compare_to_scratch` judges each pretrained backbone by one rule: the better of its
``frozen`` and ``trainable`` ways, chosen on mean validation accuracy, against ``scratch``,
with the gain set against twice the standard error of the difference of the two means.

Examples:

```python
summary = summarise(rows)          # rows: dicts with method, seed, test_accuracy, ...
for line in format_comparisons(compare_to_scratch(summary)):
    print(line)
```
"""

import math
import statistics

SCRATCH = "scratch"
FINE_TUNED = ("frozen", "trainable")
NO_BACKBONE = "none"
GROUP_KEYS = ("backbone", "method", "labels_per_class")


def summarise(rows):
    """Mean, standard deviation and standard error of test accuracy (and the mean
    validation accuracy, where the runs have one) per (backbone, method, labels per class),
    in first-seen order.

    Args:
        rows: one dict per run with ``method``, ``test_accuracy`` and, optionally,
            ``backbone`` (default ``none``), ``labels_per_class``, ``train_examples`` and
            ``validation_accuracy``.

    Returns:
        One dict per group: the group keys, ``train_examples``, ``n``, ``test_mean``,
        ``test_std``, ``test_se``, ``validation_mean`` (``None`` without validation) and
        ``values`` (the test accuracy of each run).
    """
    groups = {}
    for row in rows:
        key = (row.get("backbone", NO_BACKBONE), row["method"], row.get("labels_per_class"))
        groups.setdefault(key, []).append(row)
    summary = []
    for (backbone, method, count), runs in groups.items():
        test = [float(r["test_accuracy"]) for r in runs]
        validation = [float(r["validation_accuracy"]) for r in runs if r.get("validation_accuracy") is not None]
        std = statistics.stdev(test) if len(test) > 1 else 0.0
        summary.append({
            "backbone": backbone, "method": method, "labels_per_class": count,
            "train_examples": runs[0].get("train_examples"), "n": len(test),
            "test_mean": round(statistics.fmean(test), 4), "test_std": round(std, 4),
            "test_se": round(std / math.sqrt(len(test)), 4),
            "validation_mean": round(statistics.fmean(validation), 4) if validation else None,
            "values": test,
        })
    return summary


def compare_to_scratch(summary):
    """For each pretrained backbone and label count: the better of ``frozen`` and
    ``trainable`` on mean validation accuracy, its test gain over scratch, and whether the
    gain exceeds twice the standard error of the difference of the two means
    (``sqrt(se_a² + se_b²)``, seeds treated as independent).

    Returns:
        One dict per comparison: ``backbone``, ``labels_per_class``, ``chosen``,
        ``test_mean``, ``scratch_mean``, ``gain``, ``two_se`` and ``verdict`` (``beats
        scratch``, ``within 2 SE``, ``below scratch``, or, with one seed, ``one seed: no
        spread to judge by``).
    """
    cells = {(s["backbone"], s["method"], s["labels_per_class"]): s for s in summary}
    comparisons = []
    for backbone, count in dict.fromkeys((s["backbone"], s["labels_per_class"]) for s in summary):
        scratch = cells.get((NO_BACKBONE, SCRATCH, count))
        candidates = [cells[(backbone, m, count)] for m in FINE_TUNED if (backbone, m, count) in cells]
        if scratch is None or not candidates:
            continue
        chosen = max(candidates, key=lambda s: s["validation_mean"] if s["validation_mean"] is not None else -1.0)
        gain = chosen["test_mean"] - scratch["test_mean"]
        se = math.sqrt(chosen["test_se"] ** 2 + scratch["test_se"] ** 2)
        if min(chosen["n"], scratch["n"]) < 2:
            verdict = "one seed: no spread to judge by"
        else:
            verdict = "beats scratch" if gain > 2 * se else ("below scratch" if gain < -2 * se else "within 2 SE")
        comparisons.append({"backbone": backbone, "labels_per_class": count, "chosen": chosen["method"],
                            "test_mean": chosen["test_mean"], "scratch_mean": scratch["test_mean"],
                            "gain": round(gain, 4), "two_se": round(2 * se, 4), "verdict": verdict})
    return comparisons


def format_comparisons(comparisons, prefix="[report]"):
    """The comparisons as printable lines."""
    lines = []
    for c in comparisons:
        at = f" at {c['labels_per_class']}/class" if c["labels_per_class"] is not None else ""
        lines.append(f"{prefix} {c['backbone']} ({c['chosen']}, chosen on validation){at}: {c['test_mean']:.4f} vs "
                     f"scratch {c['scratch_mean']:.4f}, gain {c['gain']:+.4f} (2 SE {c['two_se']:.4f}): {c['verdict']}")
    return lines


def format_summary(summary):
    """The summary as an aligned text table: one line per way, mean ± std and each seed."""
    lines = [f"{'method':10s} {'test accuracy':>22s}   per seed"]
    for s in summary:
        seeds = " ".join(f"{v:.4f}" for v in s["values"])
        lines.append(f"{s['method']:10s} {s['test_mean']:>12.4f} ± {s['test_std']:.4f}   {seeds}")
    return "\n".join(lines)
