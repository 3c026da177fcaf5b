"""The quickstart's BERT stage: kerapre's own pretraining (the mechanics), then what a published
encoder buys on Rotten Tomatoes against an encoder trained from scratch.

1. ``pretrain``: ``bert_tiny`` on ``wiki_sample`` for 100 steps (``bert.pretrain.train.steps``), with held-out
   masked-LM and next-sentence accuracy before and after (the mechanics, not a useful encoder:
   docs/bert_finetuning.md says why).
2. ``scratch``: a fresh ``bert_tiny`` with that run's vocabulary, fine-tuned on every labelled
   training sentence.
3. ``frozen``: the published encoder (``minilm_l6`` by default) frozen, a linear probe on its
   mean-pooled features, its regularisation chosen on validation, then turned into the
   equivalent Dense head (``kerapre.report.fitting.probe_classifier``).
4. ``trainable``: the published encoder fine-tuned on a labelled subset (one epoch of it on
   every sentence does not fit the stage's budget on a 2-core CPU).

The way with the best validation accuracy is exported for TF Serving, TF Hub and Keras and
answers ``examples`` through the exported ``serving_default``.
"""

import copy
import dataclasses
import os
import time

import numpy as np

from kerapre.config import validate
from kerapre.config.cnn import SCRATCH
from kerapre.data.text_classification import load_text_classification, majority_class_rate, split_labelled_texts
from kerapre.data.text_classification import text_dataset_info
from kerapre.data.text_table import TableOptions
from kerapre.data.text_preprocessor import BertTextPreprocessor, tokenise
from kerapre.export import export
from kerapre.export.encoders import load_encoder, text_casing
from kerapre.export.resolve import resolve
from kerapre.report import bar_chart, compare_to_scratch, format_comparisons, format_summary, summarise, write_csv, \
    write_summary_csv
from kerapre.report.features import pooled_features
from kerapre.report.fitting import linear_probe, probe_classifier
from kerapre.workflows.finetune_text import finetune_text
from kerapre.workflows.predict import predict_text
from kerapre.workflows.pretrain_bert import pretrain_bert


@dataclasses.dataclass
class ProbeResult:
    """What the linear probe on the frozen published encoder gave (the fields ``finetune_text``'s
    result has that the stage reads)."""

    model: object
    model_dir: str
    validation_accuracy: float
    test_accuracy: float
    test_majority_rate: float
    train_examples: int
    learning_rate: float
    seconds: float
    choice: str


def run_bert_stage(config, output_dir="runs/quickstart", export_dir="saved_models", log=print):
    """Runs the stage (see the module's docstring) for a ``QuickstartBertConfig``.

    Writes ``<output_dir>/bert/pretrain/`` (the pretraining run), ``pretraining.csv``,
    ``finetune/<method>-seed<seed>/`` (the ``finetune_text`` runs of ``scratch`` and
    ``trainable``; for ``frozen``, the probe classifier's ``model.weights.h5``), ``finetune.csv``
    (one row per run), ``finetune_summary.csv`` and ``finetune_accuracy.png``.

    Returns:
        ``(BertRunResult, summary rows or None)``.
    """
    stage_dir = os.path.join(output_dir, "bert")
    run = _pretrain(config, stage_dir, log)
    summary = None
    if config.methods:
        summary = _compare(config, run.model_dir, stage_dir, export_dir, log)
    return run, summary


def _pretrain(config, stage_dir, log):
    pre = config.pretrain
    log(f"[bert] pretraining {pre.model.preset} on {pre.data.corpus} for {pre.train.steps} steps "
        "(the mechanics: so few steps teach bert_tiny little)")
    start = time.perf_counter()
    run = pretrain_bert(pre, model_dir=os.path.join(stage_dir, "pretrain"), log=log)
    log(f"[bert] pretraining run: {time.perf_counter() - start:.0f} s")
    rows = [{"held_out": when, **{k: round(v, 4) for k, v in metrics.items()}}
            for when, metrics in (("before", run.before), ("after", run.after)) if metrics]
    if rows:
        rows.append({"held_out": "majority-token baseline", "mlm_accuracy": round(run.mlm_majority_baseline, 4)})
        write_csv([{**{k: "" for k in rows[0]}, **r} for r in rows], os.path.join(stage_dir, "pretraining.csv"))
        log("")
        log(f"{'held-out':24s} {'MLM accuracy':>13s} {'NSP accuracy':>13s} {'MLM perplexity':>15s}")
        for r in rows:
            log(f"{r['held_out']:24s} {r.get('mlm_accuracy', float('nan')):>13.4f} "
                f"{r.get('nsp_accuracy', float('nan')):>13.4f} {r.get('mlm_perplexity', float('nan')):>15.1f}")
        log(f"training pairs after:    MLM {run.train_metrics.get('mlm_accuracy', float('nan')):.4f}, "
            f"NSP {run.train_metrics.get('nsp_accuracy', float('nan')):.4f}; "
            f"{run.sequences_per_second:.0f} sequences/s")
    return run


def _compare(config, pretrain_dir, stage_dir, export_dir, log):
    """Scratch, the published encoder frozen (probe) and trainable; the best on validation exported."""
    rows, results = [], {}
    for method in config.methods:
        for seed in config.seeds:
            model_dir = os.path.join(stage_dir, "finetune", f"{method}-seed{seed}")
            start = time.perf_counter()
            if method == SCRATCH:
                result = finetune_text(validate(_scratch_config(config, pretrain_dir, seed)), model_dir=model_dir,
                                       log=lambda *_: None)
            elif method == "frozen":
                result = _probe(config, seed, model_dir, log)
            else:
                result = finetune_text(validate(_published_config(config, seed)), model_dir=model_dir,
                                       log=lambda *_: None)
            results[(method, seed)] = result
            rows.append({
                "backbone": "none" if method == SCRATCH else config.published,
                "method": method,
                "seed": seed,
                "choice": getattr(result, "choice", f"lr={result.learning_rate:g}"),
                "train_examples": result.train_examples,
                "validation_accuracy": round(result.validation_accuracy, 4),
                "test_accuracy": round(result.test_accuracy, 4),
                "test_majority_rate": round(result.test_majority_rate, 4),
                "fit_seconds": round(result.seconds, 1),
            })
            log(f"[bert] {_label(config, method):28s} seed {seed}: validation {result.validation_accuracy:.4f}, "
                f"test {result.test_accuracy:.4f} ({rows[-1]['choice']}, {result.train_examples} labels, "
                f"fit {result.seconds:.0f} s, run {time.perf_counter() - start:.0f} s)")
    summary = summarise(rows)
    chosen = max(summary, key=lambda s: s["validation_mean"])["method"]
    seed = max(config.seeds, key=lambda sd: results[(chosen, sd)].validation_accuracy)
    best = results[(chosen, seed)]
    majority = rows[0]["test_majority_rate"]
    write_csv(rows, os.path.join(stage_dir, "finetune.csv"))
    write_summary_csv(summary, os.path.join(stage_dir, "finetune_summary.csv"))
    bar_chart(summary, os.path.join(stage_dir, "finetune_accuracy.png"),
              title=(f"Rotten Tomatoes test accuracy: {config.pretrain.model.preset} from scratch, "
                     f"{config.published} frozen / trainable\n(one run per way and seed; "
                     f"{len(config.seeds)} seed(s))"),
              baseline=("majority class", majority))
    log("")
    log(format_summary(summary))
    log(f"{'majority':10s} {majority:>12.4f}   (always the test split's most frequent class)")
    for line in format_comparisons(compare_to_scratch(summary), prefix="verdict:"):
        log(line)
    log(f"chosen on validation: {chosen} (seed {seed}, validation accuracy {best.validation_accuracy:.4f})")
    _export_best(config, chosen, best, pretrain_dir, export_dir, log)
    return summary


def _label(config, method):
    return {SCRATCH: f"scratch ({config.pretrain.model.preset})", "frozen": f"{config.published} frozen (probe)",
            "trainable": f"{config.published} trainable"}[method]


def _scratch_config(config, pretrain_dir, seed):
    run_config = copy.deepcopy(config.finetune)
    run_config.backbone, run_config.trainable = SCRATCH, True
    run_config.model.preset = config.pretrain.model.preset
    run_config.data.vocab = os.path.join(pretrain_dir, "vocab.txt")
    run_config.train.seed = seed
    return run_config


def _published_config(config, seed):
    run_config = copy.deepcopy(config.published_finetune)
    run_config.backbone, run_config.trainable = config.published, True
    run_config.train.seed = seed
    return run_config


def _probe(config, seed, model_dir, log):
    """The linear probe on the frozen published encoder, on the labelled subset the trainable
    way trains on; its classifier's weights written into ``model_dir`` (``model.weights.h5``)."""
    start = time.perf_counter()
    ft = _published_config(config, seed)
    data = ft.data
    info = text_dataset_info(data.name, data_dir=data.data_dir, table=TableOptions.from_config(data))

    def split(name):
        ds = load_text_classification(data.name, name, data_dir=data.data_dir, table=TableOptions.from_config(data))
        return ds.take(data.limit) if data.limit else ds

    pool = split(data.train_split)
    if ft.labels_per_class:
        pool, _ = split_labelled_texts(pool, ft.labels_per_class, info.num_classes, seed)
    arrays = {name: _texts_and_labels(ds) for name, ds in (("train", pool), ("validation", split(data.validation_split)),
                                                            ("test", split(data.test_split)))}
    encoder, vocab = load_encoder(config.published, trainable=False)
    lowercase, strip_accents = text_casing(resolve(config.published), data.lowercase, log, prefix="[bert]")
    preprocessor = BertTextPreprocessor(vocab, sequence_length=data.seq_length, lowercase=lowercase,
                                        strip_accents=strip_accents)
    log(f"[bert] {config.published}: features of {sum(len(y) for _, y in arrays.values())} sentences "
        f"({ft.head.pooling} pooling)")
    # The features go through the very preprocessor the probe is exported with.
    features = {name: pooled_features(encoder, tokenise(preprocessor, texts), ft.head.pooling)
                for name, (texts, _) in arrays.items()}
    probe, c, validation_accuracy = linear_probe(features["train"], arrays["train"][1], features["validation"],
                                                 arrays["validation"][1], config.probe_c, seed)
    test_accuracy = float(probe.score(features["test"], arrays["test"][1]))
    model = probe_classifier(encoder, probe, info.num_classes, preprocessor=preprocessor, pooling=ft.head.pooling)
    os.makedirs(model_dir, exist_ok=True)
    model.save_weights(os.path.join(model_dir, "model.weights.h5"))
    majority = majority_class_rate(split(data.test_split))
    return ProbeResult(model, model_dir, validation_accuracy, test_accuracy, majority, len(arrays["train"][1]),
                       float("nan"), time.perf_counter() - start, f"C={c:g}")


def _texts_and_labels(ds):
    texts, labels = [], []
    for text, label in ds.as_numpy_iterator():
        texts.append(text.decode("utf-8"))
        labels.append(int(label))
    return texts, np.asarray(labels, np.int64)


def _export_best(config, chosen, best, pretrain_dir, export_dir, log):
    start = time.perf_counter()
    data = config.finetune.data if chosen == SCRATCH else config.published_finetune.data
    info = text_dataset_info(data.name, data_dir=data.data_dir, table=TableOptions.from_config(data))
    paths = export(
        best.model,
        config.export_name,
        base_dir=export_dir,
        label_names=list(info.label_names),
        metadata={"task": "finetune_text", "method": chosen, "data": data.name, "data_license": info.license,
                  "backbone": SCRATCH if chosen == SCRATCH else config.published,
                  "validation_accuracy": best.validation_accuracy, "test_accuracy": best.test_accuracy},
    )
    names = {"serving": "TF Serving", "hub": "TF Hub", "keras": "Keras"}
    log(f"[bert] exported {', '.join(f'{path} ({names[fmt]})' for fmt, path in paths.items())} "
        f"({time.perf_counter() - start:.0f} s)")
    for answer in predict_text(paths["serving"], config.examples):
        log(f"[bert] serving_default: {answer['label']} ({answer['probabilities'][answer['label']]:.3f}) "
            f"<- {answer['text']!r}")
