"""The label-efficiency report's plot (PNG) and page (Markdown), both written atomically."""

import os
import platform
import time

from kerapre.report.summary import SCRATCH

PROBE = "linear_probe"
ALL = "all"
PLOT_FILE = "label_efficiency.png"


def _series(summary):
    """``{(backbone, method): [summary rows in label order]}``, scratch first."""
    series = {}
    for s in summary:
        series.setdefault((s["backbone"], s["method"]), []).append(s)
    return dict(sorted(series.items(), key=lambda item: item[0][1] != SCRATCH))


def _label_columns(summary):
    return list(dict.fromkeys(s["labels_per_class"] for s in summary))


def _x_position(count, all_per_class):
    return all_per_class if count == ALL else int(count)


def plot_report(summary, path, *, target, majority=None):
    """Test accuracy against labels per class (log axis; mean ± std over seeds), one panel
    per pretrained backbone, each with scratch for reference. Written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _series(summary)
    all_per_class = target.per_class_pool()
    backbones = list(dict.fromkeys(b for b, _ in series if b != "none")) or ["none"]
    fig, axes = plt.subplots(1, len(backbones), figsize=(5.2 * len(backbones), 4.2), sharey=True, squeeze=False)
    styles = {SCRATCH: ("black", "--", "o"), "frozen": ("#4c72b0", "-", "s"),
              "trainable": ("#dd8452", "-", "^"), PROBE: ("#55a868", ":", "D")}
    counts = _label_columns(summary)
    ticks = [_x_position(c, all_per_class) for c in counts]
    for ax, backbone in zip(axes[0], backbones):
        for (name, method), cells in series.items():
            if name not in (backbone, "none"):
                continue
            color, line, marker = styles[method]
            ax.errorbar([_x_position(s["labels_per_class"], all_per_class) for s in cells],
                        [s["test_mean"] for s in cells], yerr=[s["test_std"] for s in cells],
                        color=color, linestyle=line, marker=marker, capsize=4, label=method.replace("_", " "))
        if majority is not None:
            ax.axhline(majority, color="gray", linewidth=0.8, label="majority class")
        ax.set_xscale("log")
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"all\n({len(target.y_pool):,})" if c == ALL else str(c) for c in counts])
        ax.minorticks_off()
        ax.set_xlabel("labelled examples per class")
        ax.set_title(f"backbone: {backbone}" if backbone != "none" else "from scratch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{target.name} test accuracy")
    axes[0][-1].legend(loc="lower right", fontsize=8)
    n = max(s["n"] for s in summary)
    fig.suptitle(f"Label efficiency on {target.name} (mean ± std over {n} seed{'s' * (n > 1)})")
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_markdown(summary, comparisons, path, *, config, target, backbones, precision):
    """The report as Markdown: setup, the table of test accuracy, the comparison with
    scratch, the plot, and how to read it. Written atomically."""
    counts = _label_columns(summary)
    header = [str(c) if c != ALL else f"all ({len(target.y_pool):,} examples)" for c in counts]
    n = max(s["n"] for s in summary)
    lines = [
        f"# Label efficiency on {target.name}",
        "",
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores ({platform.machine()}), {precision}; "
        f"test accuracy, mean ± std over {n} seed{'s' * (n > 1)} (seeds: {', '.join(map(str, config.seeds))}; "
        "each seed draws its own labelled examples and initialisation).",
        "",
        f"- Pool: {len(target.y_pool)} labelled examples; validation: {target.validation}; "
        f"test: {len(target.y_test)} examples (majority class {target.majority_rate:.3f}).",
        "- Backbones: " + ", ".join(f"`{name}` = `{path}`" for name, path in backbones.items()) + ".",
        f"- Choices on validation only: learning rate (scratch {config.train.learning_rates.scratch}, frozen "
        f"{config.train.learning_rates.frozen}, trainable {config.train.learning_rates.trainable}), the number of "
        f"steps (best of {config.train.evaluations} checks), the probe's C ({config.train.probe_c}).",
        "",
        "| way | " + " | ".join(header) + " |",
        "|---|" + "---:|" * len(counts),
    ]
    for (backbone, method), cells in _series(summary).items():
        by_count = {s["labels_per_class"]: s for s in cells}
        label = SCRATCH if method == SCRATCH else f"{backbone} · {method.replace('_', ' ')}"
        lines.append(f"| {label} | " + " | ".join(
            f"{by_count[c]['test_mean']:.3f} ± {by_count[c]['test_std']:.3f}" if c in by_count else "" for c in counts)
            + " |")
    if comparisons:
        lines += [
            "",
            "Pretrained against scratch (the better of frozen and trainable on validation; "
            "2 SE = twice the standard error of the difference of the means):",
            "",
            "| backbone | labels/class | chosen | test | scratch | gain | 2 SE | verdict |",
            "|---|---:|---|---:|---:|---:|---:|---|",
        ]
        for c in comparisons:
            lines.append(f"| {c['backbone']} | {c['labels_per_class']} | {c['chosen']} | {c['test_mean']:.3f} | "
                         f"{c['scratch_mean']:.3f} | {c['gain']:+.3f} | {c['two_se']:.3f} | {c['verdict']} |")
    lines += [
        "",
        f"![test accuracy against labels per class]({PLOT_FILE})",
        "",
        "How to read it: a backbone pays off where its curve sits above scratch by more than the error bars; "
        "the gap is widest at few labels and closes as labels grow. Frozen and the linear probe measure the "
        "features as they are; trainable measures them as a starting point.",
        "",
    ]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)
    return path
