"""Result tables as CSV for tools and bar charts as PNG for people (summaries come from ``summary``)."""

import csv
import os


def write_csv(rows, path):
    """Writes dict rows to ``path`` (columns from the first row), atomically."""
    if not rows:
        raise ValueError("no rows to write")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(path + ".tmp", path)
    return path


def write_summary_csv(summary, path):
    """Writes ``kerapre.report.summary.summarise`` output as CSV (one row per group: n, mean, std; floats to 4
    decimals, the per-seed values left out), atomically."""
    return write_csv(
        [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items() if k != "values"} for s in summary],
        path,
    )


def bar_chart(summary, path, *, title, ylabel="test accuracy", group_key="method", baseline=None):
    """A PNG bar chart of ``summary`` means with ±std error bars and each seed as a dot.

    Args:
        summary: the output of ``kerapre.report.summary.summarise``.
        path: the PNG file to write.
        title: the chart title.
        ylabel: the y-axis label.
        group_key: the key naming each bar.
        baseline: an optional ``(label, value)`` drawn as a dashed line (e.g. chance).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s[group_key] for s in summary]
    means = [s["test_mean"] for s in summary]
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    ax.bar(names, means, yerr=[s["test_std"] for s in summary], capsize=6, color="#4c72b0", alpha=0.8)
    lowest = min(min(s["values"]) for s in summary)
    bottom = max(0.0, lowest - 0.1)
    ax.set_ylim(bottom, 1.0)
    for i, s in enumerate(summary):
        # Seeds as dots beside the error bar, the mean written inside the bar.
        ax.scatter([i + 0.18] * len(s["values"]), s["values"], color="black", s=12, zorder=3)
        ax.text(i, bottom + 0.02 * (1 - bottom), f"{s['test_mean']:.3f} ± {s['test_std']:.3f}",
                ha="center", color="white", fontsize=9, fontweight="bold")
    if baseline and baseline[1] > bottom:
        ax.axhline(baseline[1], linestyle="--", color="gray", label=baseline[0])
        ax.legend(loc="lower right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
