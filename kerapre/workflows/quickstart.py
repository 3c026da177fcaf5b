"""``kerapre quickstart``: the whole pretrain → export → reload → fine-tune path on bundled data."""

import copy
import os
import time

from kerapre.config import QuickstartConfig, save_config, validate
from kerapre.config.cnn import SCRATCH
from kerapre.export import export
from kerapre.report import bar_chart, compare_to_scratch, format_comparisons, format_summary, summarise, write_csv, \
    write_summary_csv
from kerapre.workflows.finetune_image import finetune_image
from kerapre.workflows.pretrain_cnn import pretrain_cnn
from kerapre.workflows.quickstart_bert import run_bert_stage

PRETRAINED = "pretrained"


def run_cnn_stage(config, output_dir="runs/quickstart", export_dir="saved_models", log=print):
    """Pretrains the 28×28 CNN on Fashion-MNIST, exports it, then fine-tunes on MNIST-5k
    with few labels per class three ways (scratch, frozen, trainable) over several seeds.

    Writes ``<output_dir>/cnn/results.csv`` (one row per run), ``summary.csv``
    (mean ± std per method) and ``accuracy.png``.

    Args:
        config: a ``kerapre.config.QuickstartCNNConfig``.
        output_dir: where the runs and the report go.
        export_dir: where the pretrained model is exported.
        log: where progress lines go.

    Returns:
        ``(summary rows, {format: export path})``.
    """
    stage_dir = os.path.join(output_dir, "cnn")
    pre = config.pretrain
    paths = pretrain_and_export_cnn(config, stage_dir, export_dir, log)

    ft = config.finetune
    rows = []
    for method in config.methods:
        for seed in config.seeds:
            run_config = copy.deepcopy(ft)
            run_config.backbone = SCRATCH if method == SCRATCH else paths["backbone"]
            run_config.trainable = method != "frozen"
            run_config.two_phase = ft.two_phase and method == "trainable"  # head first, then unfreeze
            run_config.model.cut = pre.model.cut
            run_config.train.seed = seed
            result = finetune_image(
                validate(run_config), model_dir=os.path.join(stage_dir, "finetune", f"{method}-seed{seed}")
            )
            rows.append(
                {
                    "backbone": "none" if method == SCRATCH else PRETRAINED,
                    "method": method,
                    "seed": seed,
                    "labels_per_class": ft.labels_per_class,
                    "train_examples": result.train_examples,
                    "cut": pre.model.cut,
                    "validation_accuracy": _rounded(result.validation_accuracy),
                    "test_accuracy": round(result.test_accuracy, 4),
                    "fit_seconds": round(result.seconds, 1),
                }
            )
            log(f"[cnn] {method:9s} seed {seed}: validation {_format(result.validation_accuracy)}, "
                f"test {result.test_accuracy:.4f} ({result.seconds:.0f} s)")

    summary = summarise(rows)
    write_csv(rows, os.path.join(stage_dir, "results.csv"))
    write_summary_csv(summary, os.path.join(stage_dir, "summary.csv"))
    bar_chart(
        summary,
        os.path.join(stage_dir, "accuracy.png"),
        title=(
            f"MNIST-5k, {ft.labels_per_class} labels/class, backbone cut at '{pre.model.cut}'\n"
            f"(pretrained on {pre.data.name}; mean ± std over {len(config.seeds)} seeds)"
        ),
        baseline=("chance", 0.1),
    )
    return summary, paths


def pretrain_and_export_cnn(config, stage_dir, export_dir="saved_models", log=print):
    """Pretrains the CNN of a ``QuickstartCNNConfig`` into ``<stage_dir>/pretrain`` and exports
    it as ``config.export_name``; returns ``{format: export path}``."""
    os.makedirs(stage_dir, exist_ok=True)
    pre = config.pretrain
    log(f"[cnn] pretraining {pre.model.preset} on {pre.data.name} for {pre.train.epochs} epoch(s)")
    run = pretrain_cnn(pre, model_dir=os.path.join(stage_dir, "pretrain"))
    log(f"[cnn] source-task test accuracy {run.history['val_accuracy'][-1]:.4f} ({run.seconds:.0f} s)")
    paths = export(
        run.model,
        config.export_name,
        base_dir=export_dir,
        label_names=run.label_names,
        metadata={"task": "cnn_pretrain", "data": pre.data.name},
    )
    log(f"[cnn] exported {paths['serving']} (TF Serving), {paths['backbone']}, {paths['keras']}")
    return paths


def run_report_stage(config, output_dir="runs/quickstart", export_dir="saved_models", log=print):
    """Pretrains SimCLR (and, for the full report, rotation) on the MNIST-5k pool's images,
    then writes the label-efficiency report on MNIST-5k into ``<output_dir>/report/cnn``:
    scratch against the CNN stage's supervised Fashion-MNIST backbone (pretrained and
    exported here if that stage has not run) and the self-supervised ones. The full report
    adds the BERT report on the BERT stage's encoder and the published one
    (``bert.published``) into ``<output_dir>/report/bert``.

    Args:
        config: a ``kerapre.config.QuickstartConfig`` (its ``report`` section, and ``cnn``
            for the supervised backbone).

    Returns:
        ``{"cnn": LabelEfficiencyReport, "bert": LabelEfficiencyReport or None}``.
    """
    from kerapre.report.label_efficiency import label_efficiency
    from kerapre.workflows.pretrain_ssl import pretrain_ssl

    report = config.report
    stage_dir = os.path.join(output_dir, "report")
    supervised = os.path.join(export_dir, f"{config.cnn.export_name}-backbone")
    if not os.path.isdir(supervised):
        log(f"[report] no {supervised} yet (the cnn stage writes it): pretraining it now")
        supervised = pretrain_and_export_cnn(config.cnn, os.path.join(output_dir, "cnn"), export_dir, log)["backbone"]
    backbones = [f"supervised={supervised}"]
    for method in ("simclr", "rotation") if report.full else ("simclr",):
        ssl = getattr(report, method)
        run_dir = os.path.join(stage_dir, f"{method}_pretrain")
        log(f"[report] pretraining {method} on {ssl.data.name}[{ssl.data.split}] images, labels dropped, "
            f"for {ssl.train.epochs} epochs")
        run = pretrain_ssl(ssl, model_dir=run_dir)
        log(f"[report] {method}: loss {run.history['loss'][0]:.3f} -> {run.history['loss'][-1]:.3f} "
            f"({run.seconds:.0f} s)")
        backbones.append(f"{method}={run_dir}")

    image = copy.deepcopy(report.image)
    image.backbones = backbones
    if not report.full:
        image.labels_per_class = list(report.quick_labels_per_class)
        for method in ("scratch", "frozen", "trainable"):
            setattr(image.train.learning_rates, method, [report.quick_learning_rate])
    results = {"cnn": label_efficiency(validate(image), os.path.join(stage_dir, "cnn"), log), "bert": None}
    bert_run = os.path.join(output_dir, "bert", "pretrain")
    if report.full and os.path.isdir(bert_run):
        text = copy.deepcopy(report.text)
        published = config.bert.published
        text.backbones = [f"pretrained={bert_run}", f"{os.path.basename(os.path.normpath(published))}={published}"]
        results["bert"] = label_efficiency(validate(text), os.path.join(stage_dir, "bert"), log)
    elif report.full:
        log(f"[report] no BERT pretraining run in {bert_run}: run the bert stage first for the BERT report")
    return results


def _rounded(value):
    return None if value is None else round(value, 4)


def _format(value):
    return "-" if value is None else f"{value:.4f}"


def print_summary(summary, log, majority=None):
    """The summary table, then the verdict of each pretrained way against scratch (the
    report's rule: the better of frozen and trainable chosen on validation, against 2 SE)."""
    log("")
    log(format_summary(summary))
    if majority is not None:
        log(f"{'majority':10s} {majority:>12.4f}   (always the test split's most frequent class)")
    for line in format_comparisons(compare_to_scratch(summary), prefix="verdict:"):
        log(line)


STAGES = ("cnn", "bert", "report")


def quickstart(config=None, stages=STAGES, output_dir="runs/quickstart", export_dir="saved_models", log=print):
    """Runs the quickstart's stages in order, each timed.

    Args:
        config: a ``kerapre.config.QuickstartConfig``.
        stages: which of ``STAGES`` to run.
        output_dir: where runs and reports go.
        export_dir: where exports go.
        log: where progress lines go.

    Returns:
        ``{stage: seconds}``.
    """
    config = validate(config or QuickstartConfig())
    os.makedirs(output_dir, exist_ok=True)
    save_config(config, os.path.join(output_dir, "config.yaml"))
    times = {}
    for stage in stages:
        start = time.perf_counter()
        if stage == "cnn":
            summary, _ = run_cnn_stage(config.cnn, output_dir, export_dir, log)
            print_summary(summary, log)
            log(f"report: {os.path.join(output_dir, 'cnn', 'summary.csv')}, "
                f"{os.path.join(output_dir, 'cnn', 'accuracy.png')}")
        if stage == "bert":
            run_bert_stage(config.bert, output_dir, export_dir, log)  # kerapre.workflows.quickstart_bert
        if stage == "report":
            run_report_stage(config, output_dir, export_dir, log)
        times[stage] = time.perf_counter() - start
        log(f"[{stage}] stage took {times[stage] / 60:.1f} min")
    return times
