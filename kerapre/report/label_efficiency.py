"""The label-efficiency report: what a pretrained backbone buys at few labels per class.

For each label count and seed, a labelled subset is drawn from the target's pool, and a
classifier is trained on it four ways: from ``scratch`` (a fresh backbone of the same
shape), on the pretrained backbone ``frozen`` (only the head learns), ``trainable`` (all of
it learns), and as a ``linear_probe`` (scikit-learn ``LogisticRegression`` on the frozen
backbone's features, from ``kerapre.extract_features``). Every choice — learning rate,
number of steps, the probe's regularisation — is made on a validation split; the test
split is only ever used to report.

Examples:

```python
from kerapre.config import ImageReportConfig, load_config

config = load_config(ImageReportConfig, overrides=[
    "backbones=[supervised=saved_models/cnn_fashion-backbone, simclr=runs/simclr_pretrain]"])
report = kerapre.label_efficiency(config, output_dir="runs/report")
report.paths["markdown"]  # runs/report/label_efficiency.md
```
"""

import dataclasses
import os
import time

from tqdm import tqdm

from kerapre.config import ImageReportConfig, TextReportConfig, save_config, validate
from kerapre.errors import DataError
from kerapre.export.resolve import resolve
from kerapre.report.fitting import fit_and_choose, linear_probe
from kerapre.report.kinds import ImageKind, TextKind
from kerapre.report.pages import ALL, PLOT_FILE, PROBE, plot_report, write_markdown
from kerapre.report.resume import cell, earlier_runs, report_fingerprints
from kerapre.report.summary import NO_BACKBONE, SCRATCH, compare_to_scratch, format_comparisons, summarise
from kerapre.report.tables import write_csv, write_summary_csv
from kerapre.report.targets import labelled_subset, take
from kerapre.training.run import TrainingRun

CSV_FILE = "label_efficiency.csv"
SUMMARY_FILE = "label_efficiency_summary.csv"
MARKDOWN_FILE = "label_efficiency.md"


@dataclasses.dataclass
class LabelEfficiencyReport:
    """What a report run produced.

    Attributes:
        rows: one dict per run (backbone, method, label count, seed, choices, accuracies).
        summary: one dict per (backbone, method, label count): mean, std, standard error.
        comparisons: per pretrained backbone and label count, its better fine-tuning way
            (frozen or trainable, chosen on validation) against scratch.
        paths: ``{"csv", "summary", "plot", "markdown"}`` files written.
    """

    rows: list
    summary: list
    comparisons: list
    paths: dict


def label_efficiency(config=None, output_dir=None, log=print):
    """Runs the label-efficiency comparison and writes its CSV, plot and Markdown summary.

    Args:
        config: an ``ImageReportConfig`` (CNN backbones) or a ``TextReportConfig`` (BERT).
        output_dir: where ``label_efficiency.csv`` (one row per run, rewritten after every
            run), ``label_efficiency_summary.csv``, ``label_efficiency.png`` and
            ``label_efficiency.md`` go (default: ``runs/report_image`` or ``runs/report_text``,
            as for ``kerapre report``). The runs already in its CSV, from an interrupted report
            of the same config, target and backbone, are kept and not made again
            (``kerapre.report.resume``).
        log: where progress lines go (one per run, beside a tqdm progress bar).

    Returns:
        A ``LabelEfficiencyReport``.

    Raises:
        DataError: if a backbone is missing or does not fit the target, or a label count
            exceeds what a class has.

    Examples:

    ```python
    config = load_config(ImageReportConfig, overrides=["labels_per_class=[5, 20]", "seeds=[0]"])
    report = label_efficiency(config, "runs/report_quick")
    [c["verdict"] for c in report.comparisons]
    ```
    """
    config = validate(config or ImageReportConfig())
    text = isinstance(config, TextReportConfig)
    kind = TextKind(config) if text else ImageKind(config)
    output_dir = output_dir or os.path.join("runs", "report_text" if text else "report_image")
    backbones = {}
    for entry in config.backbones:
        name, _, path = entry.partition("=")
        backbones[name.strip()] = resolve(path.strip(), hint=f"pretrain or export backbone {name.strip()} first, "
                                                              "or fix its path in backbones").given
    target = kind.load_target()
    for count in config.labels_per_class:
        if count is not None and count > target.per_class_pool():
            raise DataError(f"labels_per_class {count} exceeds the {target.per_class_pool()} examples the smallest "
                            f"class of {target.name} has after validation: lower it or use null (all)")
    os.makedirs(output_dir, exist_ok=True)
    save_config(config, os.path.join(output_dir, "config.yaml"))
    with TrainingRun(config, None, task="label_efficiency", log=log) as run:
        rows = _run_grid(config, kind, target, backbones, run, output_dir, log)
        precision = run.precision

    summary = summarise(rows)
    comparisons = compare_to_scratch(summary)
    paths = {"csv": os.path.join(output_dir, CSV_FILE),
             "summary": write_summary_csv(summary, os.path.join(output_dir, SUMMARY_FILE))}
    paths["plot"] = plot_report(summary, os.path.join(output_dir, PLOT_FILE), target=target,
                                majority=target.majority_rate)
    paths["markdown"] = write_markdown(summary, comparisons, os.path.join(output_dir, MARKDOWN_FILE),
                                       config=config, target=target, backbones=backbones, precision=precision)
    for line in format_comparisons(comparisons):
        log(line)
    log(f"[report] {paths['markdown']}, {paths['plot']}, {paths['csv']}")
    return LabelEfficiencyReport(rows, summary, comparisons, paths)


def _run_grid(config, kind, target, backbones, run, output_dir, log):
    """Every run of the report (scratch, then each backbone's ways), one CSV row each; the runs
    an earlier report of the same config, target and backbone made are taken from its CSV
    (``kerapre.report.resume``)."""
    rates = config.train.learning_rates
    pretrained_methods = [m for m in config.methods if m != SCRATCH]
    total = len(config.labels_per_class) * len(config.seeds) * (
        (SCRATCH in config.methods) + len(backbones) * len(pretrained_methods))
    log(f"[report] {target.name}: {len(target.y_pool)} pool, {len(target.y_val)} validation, "
        f"{len(target.y_test)} test examples; {total} runs ({run.precision})")
    csv_path = os.path.join(output_dir, CSV_FILE)
    fingerprints = report_fingerprints(config, target, backbones, kind.SCRATCH_USES_FIRST_BACKBONE)
    earlier = earlier_runs(output_dir, CSV_FILE, fingerprints, total, log)
    rows = []
    progress = tqdm(total=total, desc="label efficiency", unit="run")

    def record(row, earlier_run=False):
        rows.append(row)
        write_csv(rows, csv_path)  # partial results survive an interrupted report
        progress.update(1)
        with progress.external_write_mode():
            log(f"[report] {row['backbone']:>12s} {row['method']:12s} {row['labels_per_class']!s:>4s}/class "
                f"seed {row['seed']}: validation {row['validation_accuracy']:.4f}, "
                f"test {row['test_accuracy']:.4f} ({row['choice']}, {row['seconds']:.0f} s"
                f"{', an earlier run' if earlier_run else ''})")

    def earlier_row(backbone_name, method, count, seed):
        return earlier.get(cell(backbone_name, method, ALL if count is None else count, seed))

    def done(backbone_name, method, count, seed):
        """Records the run from the earlier CSV if it is there."""
        row = earlier_row(backbone_name, method, count, seed)
        if row is not None:
            record(row, earlier_run=True)
        return row is not None

    def new_row(backbone_name, method, count, seed, examples, result, seconds):
        return {
            "backbone": backbone_name, "method": method, "labels_per_class": ALL if count is None else count,
            "train_examples": examples, "seed": seed, "choice": result["choice"],
            "best_step": result.get("best_step", ""),
            "validation_accuracy": round(result["validation_accuracy"], 4),
            "test_accuracy": round(result["test_accuracy"], 4), "seconds": round(seconds, 1),
        }

    def fit(build, data, index, method_rates, seed):
        return fit_and_choose(build, take(data.x_pool, index), data.y_pool[index], data, method_rates,
                              config.train, seed, run)

    with run.scope():
        loaded = {name: kind.load_backbone(path) for name, path in backbones.items()}
    first_backbone = next(iter(loaded.values()), None)
    if SCRATCH in config.methods:
        data = kind.inputs(target, first_backbone) if first_backbone is not None else target

        def build_scratch(rate, steps):
            with run.scope():
                backbone = kind.scratch_backbone(target.num_classes, first_backbone)
                backbone.trainable = True
                return kind.classifier(backbone, target.num_classes, rate, steps)

        for count in config.labels_per_class:
            for seed in config.seeds:
                if done(NO_BACKBONE, SCRATCH, count, seed):
                    continue
                index = labelled_subset(target, count, seed)
                start = time.perf_counter()
                result = fit(build_scratch, data, index, rates.scratch, seed)
                record(new_row(NO_BACKBONE, SCRATCH, count, seed, len(index), result, time.perf_counter() - start))

    for name, backbone in loaded.items():
        data = kind.inputs(target, backbone)
        initial = backbone.get_weights()
        features = None
        if PROBE in config.methods and any(earlier_row(name, PROBE, count, seed) is None
                                           for count in config.labels_per_class for seed in config.seeds):
            backbone.trainable = False
            features = {split: kind.features(backbone, getattr(data, f"x_{split}")) for split in ("pool", "val", "test")}
        for method in pretrained_methods:
            for count in config.labels_per_class:
                for seed in config.seeds:
                    if done(name, method, count, seed):
                        continue
                    index = labelled_subset(target, count, seed)
                    start = time.perf_counter()
                    if method == PROBE:
                        probe, c, val_accuracy = linear_probe(features["pool"][index], target.y_pool[index],
                                                              features["val"], target.y_val, config.train.probe_c, seed)
                        result = {"choice": f"C={c:g}", "validation_accuracy": val_accuracy,
                                  "test_accuracy": float(probe.score(features["test"], target.y_test))}
                    else:
                        def build(rate, steps, method=method):
                            with run.scope():
                                backbone.set_weights(initial)
                                backbone.trainable = method == "trainable"
                                return kind.classifier(backbone, target.num_classes, rate, steps)

                        result = fit(build, data, index, getattr(rates, method), seed)
                    record(new_row(name, method, count, seed, len(index), result, time.perf_counter() - start))
        backbone.set_weights(initial)
    progress.close()
    return rows
