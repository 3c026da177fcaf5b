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
import math
import os
import platform
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from kerapre.config import ImageReportConfig, TextReportConfig, save_config, validate
from kerapre.distribute import get_strategy, keeps_dtype_policy, set_precision
from kerapre.errors import DataError
from kerapre.report.tables import write_csv

SCRATCH = "scratch"
PROBE = "linear_probe"
FINE_TUNED = ("frozen", "trainable")
ALL = "all"
VALIDATION_SEED = 1_000_003  # the held-out validation examples never depend on a run's seed
CSV_FILE = "label_efficiency.csv"
SUMMARY_FILE = "label_efficiency_summary.csv"
PLOT_FILE = "label_efficiency.png"
MARKDOWN_FILE = "label_efficiency.md"


@dataclasses.dataclass
class Target:
    """A labelled target task held in memory.

    Attributes:
        name: the data set.
        x_pool, y_pool: the labelled pool the training subsets are drawn from (images, or
            texts: an array of strings, or a tuple of two for sentence pairs).
        x_val, y_val: the validation split every choice is made on.
        x_test, y_test: the test split, only reported.
        num_classes: number of classes.
        validation: how the validation split was made (for the report).
    """

    name: str
    x_pool: object
    y_pool: np.ndarray
    x_val: object
    y_val: np.ndarray
    x_test: object
    y_test: np.ndarray
    num_classes: int
    validation: str

    @property
    def majority_rate(self):
        """Test accuracy of always predicting the most frequent test class."""
        counts = np.bincount(self.y_test, minlength=self.num_classes)
        return float(counts.max() / counts.sum())

    def per_class_pool(self):
        """The smallest class's number of examples in the pool ("all" labels per class)."""
        return int(np.bincount(self.y_pool, minlength=self.num_classes).min())


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


# === Targets ===


def load_image_target(name, validation_per_class=50, data_dir=None, limit=None):
    """The ``train`` pool, a validation split and the ``test`` split of an image set, as arrays.

    The validation split is the set's own ``validation`` split if it has one, else
    ``validation_per_class`` examples per class held out of ``train`` with a fixed seed (the
    same for every run, never among the labels a run trains on). ``limit`` keeps the first
    ``limit`` examples of each (for smoke runs).
    """
    from kerapre.data.image_pipeline import dataset_to_numpy
    from kerapre.data.images import image_dataset_info, load_image_dataset

    info = image_dataset_info(name, data_dir=data_dir)

    def arrays(split):
        return dataset_to_numpy(load_image_dataset(name, split, data_dir=data_dir))

    return _target(name, arrays, info, validation_per_class, limit)


def load_text_target(name, validation_per_class=500, data_dir=None, limit=None):
    """As ``load_image_target`` for a text classification set (texts as arrays of str; a
    tuple of two such arrays for sentence pairs)."""
    from kerapre.data.text_classification import load_text_classification, text_dataset_info

    info = text_dataset_info(name, data_dir=data_dir)

    def arrays(split):
        texts, labels = [], []
        for x, y in load_text_classification(name, split, data_dir=data_dir).as_numpy_iterator():
            texts.append(tuple(t.decode("utf-8") for t in x) if info.pair else x.decode("utf-8"))
            labels.append(y)
        labels = np.asarray(labels, np.int64)
        if info.pair:
            return tuple(np.asarray([t[i] for t in texts], object) for i in range(2)), labels
        return np.asarray(texts, object), labels

    return _target(name, arrays, info, validation_per_class, limit)


def _target(name, arrays, info, validation_per_class, limit):
    """The ``Target`` of a set whose ``arrays(split)`` gives ``(inputs, labels)``: its own
    validation split, else ``validation_per_class`` per class held out of ``train``."""
    from kerapre.data.few_labels import choose_per_class

    x_pool, y_pool = arrays("train")
    x_test, y_test = arrays("test")
    if "validation" in info.split_sizes:
        x_val, y_val = arrays("validation")
        how = f"the {name} validation split ({len(y_val)} examples)"
    else:
        held = choose_per_class(y_pool, validation_per_class, info.num_classes, VALIDATION_SEED)
        x_val, y_val = _take(x_pool, held), y_pool[held]
        x_pool, y_pool = _take(x_pool, ~held), y_pool[~held]
        how = (f"{validation_per_class} examples per class held out of {name}[train] "
               f"({len(y_val)}; the same for every run, never trained on)")
    target = Target(name, x_pool, y_pool, x_val, y_val, x_test, y_test, info.num_classes, how)
    if not limit:
        return target
    keep = slice(0, limit)
    return dataclasses.replace(
        target, x_pool=_take(x_pool, keep), y_pool=y_pool[keep], x_val=_take(x_val, keep), y_val=y_val[keep],
        x_test=_take(x_test, keep), y_test=y_test[keep], validation=f"{how}, first {limit} kept")


def _take(x, index):
    if isinstance(x, dict):
        return {k: v[index] for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(v[index] for v in x)
    return x[index]


def labelled_subset(target, labels_per_class, seed):
    """Indices into the pool of ``labels_per_class`` examples per class (``None``: all)."""
    from kerapre.data.few_labels import choose_per_class

    if labels_per_class is None:
        return np.arange(len(target.y_pool))
    return np.flatnonzero(choose_per_class(target.y_pool, labels_per_class, target.num_classes, seed))


# === Training one run ===


class KeepBest(keras.callbacks.Callback):
    """Remembers the weights at the epoch end with the best ``val_accuracy`` (the earliest
    of ties) and puts them back when training ends: the number of steps is chosen on
    validation.

    Attributes:
        best: the best validation accuracy seen.
        best_epoch: the (0-based) epoch it was seen at.
    """

    def __init__(self, monitor="val_accuracy"):
        super().__init__()
        self.monitor = monitor
        self.best, self.best_epoch, self._weights = -math.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise DataError(f"KeepBest needs {self.monitor} in the logs: pass validation_data to fit")
        if value > self.best:
            self.best, self.best_epoch, self._weights = float(value), epoch, self.model.get_weights()

    def on_train_end(self, logs=None):
        if self._weights is not None:
            self.model.set_weights(self._weights)


def training_steps(examples, train):
    """``(batch size, steps, steps between validation checks)`` of a run on ``examples``."""
    batch = min(train.batch_size, examples)
    steps = max(train.min_steps, train.epochs * math.ceil(examples / batch))
    every = math.ceil(steps / train.evaluations)
    return batch, every * math.ceil(steps / every), every


def fit_and_choose(build, x, y, target, rates, train, seed):
    """Trains one fresh model per learning rate and keeps the best on validation.

    Args:
        build: ``build(learning_rate, steps)`` returns a compiled model with logits out.
        x, y: the labelled training examples (model inputs, labels).
        target: the ``Target`` (its validation and test inputs must be model inputs).
        rates: learning rates to try.
        train: a ``ReportTrainConfig``.
        seed: seeds initialisation, dropout and shuffling.

    Returns:
        ``{"choice", "best_step", "validation_accuracy", "test_accuracy"}`` of the rate with
        the best validation accuracy (at its best check).
    """
    batch, steps, every = training_steps(len(y), train)
    validation = tf.data.Dataset.from_tensor_slices((target.x_val, target.y_val)).batch(256)
    best = None
    for rate in rates:
        keras.utils.set_random_seed(seed)
        model = build(rate, steps)
        data = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch)
            .prefetch(tf.data.AUTOTUNE)
        )
        keep = KeepBest()
        model.fit(data, steps_per_epoch=every, epochs=steps // every, validation_data=validation,
                  callbacks=[keep, keras.callbacks.TerminateOnNaN()], verbose=train.verbose, shuffle=False)
        if best is None or keep.best > best["validation_accuracy"]:
            test = tf.data.Dataset.from_tensor_slices((target.x_test, target.y_test)).batch(256)
            _, test_accuracy = model.evaluate(test, verbose=0)
            best = {"choice": f"lr={rate:g}", "best_step": (keep.best_epoch + 1) * every,
                    "validation_accuracy": keep.best, "test_accuracy": float(test_accuracy)}
    return best


def linear_probe(train_features, train_labels, val_features, val_labels, cs, seed=0):
    """Fits scikit-learn ``LogisticRegression`` on standardised features for each ``C`` in
    ``cs`` and returns ``(model, C, validation accuracy)`` of the best on validation.

    ``model`` is a scikit-learn pipeline (scaler + logistic regression): call
    ``model.score(features, labels)`` or ``model.predict(features)``.

    Examples:

    ```python
    probe, c, accuracy = linear_probe(extract_features(backbone, x_train), y_train,
                                      extract_features(backbone, x_val), y_val, [0.01, 0.1, 1.0])
    ```
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    best = None
    for c in cs:
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))
        probe.fit(train_features, train_labels)
        accuracy = float(probe.score(val_features, val_labels))
        if best is None or accuracy > best[2]:
            best = (probe, c, accuracy)
    return best


# === The two kinds of backbone ===


class _ImageKind:
    """Loads CNN backbones and builds image classifiers around them."""

    def __init__(self, config):
        self.config = config

    def load_target(self):
        c = self.config
        return load_image_target(c.target, c.validation_per_class, c.data_dir, c.limit)

    def inputs(self, target, backbone):
        return target  # raw pixels: the models rescale inside

    def load_backbone(self, path):
        from kerapre.export.reload import load_backbone

        return load_backbone(path, trainable=True, cut=self.config.cut)

    def scratch_backbone(self, num_classes, first_backbone):
        from kerapre.models.cnn import CNN
        from kerapre.tasks.image_classifier import extract_backbone

        fresh = CNN.from_preset(self.config.preset, num_classes=num_classes, cut=self.config.cut)
        return extract_backbone(fresh, self.config.cut)

    def features(self, backbone, x):
        from kerapre.workflows.features import extract_features

        return extract_features(backbone, x)

    def classifier(self, backbone, num_classes, rate, steps):
        from kerapre.config import TrainConfig
        from kerapre.tasks.image_classifier import ImageClassifier
        from kerapre.training.compile import compile_classifier

        model = ImageClassifier(backbone, num_classes, head_units=self.config.head.units,
                                dropout=self.config.head.dropout)
        compile_classifier(model, TrainConfig(optimizer="adam"), rate)
        return model


class _TextKind:
    """Loads BERT encoders, tokenises the target with their vocabulary, builds text classifiers."""

    def __init__(self, config):
        self.config = config
        self._tokenised = {}
        self._vocabulary = {}  # id(encoder) -> its tokens

    def load_target(self):
        c = self.config
        return load_text_target(c.target, c.validation_per_class, c.data_dir, c.limit)

    def load_backbone(self, path):
        from kerapre.export.encoders import load_encoder

        encoder, vocab = load_encoder(path, trainable=True)
        self._vocabulary[id(encoder)] = vocab
        return encoder

    def scratch_backbone(self, num_classes, first_backbone):
        from kerapre.models.bert import BertEncoder

        if first_backbone is None:
            raise DataError("a text report from scratch needs a backbone's vocabulary: list one in backbones")
        vocab = self._vocabulary[id(first_backbone)]
        encoder = BertEncoder.from_preset(
            self.config.preset,
            vocabulary_size=len(vocab),
            dropout=self.config.dropout,
            max_sequence_length=max(512, self.config.seq_length),
        )
        self._vocabulary[id(encoder)] = vocab
        return encoder

    def inputs(self, target, backbone):
        """The target with its texts tokenised by ``backbone``'s vocabulary (once per vocabulary)."""
        from kerapre.data.text_preprocessor import BertTextPreprocessor
        from kerapre.data.vocab import vocabulary_hash

        vocab = self._vocabulary[id(backbone)]
        key = vocabulary_hash(vocab)
        if key not in self._tokenised:
            preprocessor = BertTextPreprocessor(vocab, sequence_length=self.config.seq_length,
                                                lowercase=self.config.lowercase)
            self._tokenised[key] = dataclasses.replace(
                target, x_pool=_tokenise(preprocessor, target.x_pool), x_val=_tokenise(preprocessor, target.x_val),
                x_test=_tokenise(preprocessor, target.x_test))
        return self._tokenised[key]

    def features(self, backbone, x):
        rows = []
        for start in range(0, len(x["token_ids"]), 256):
            outputs = backbone({k: v[start:start + 256] for k, v in x.items()}, training=False)
            rows.append(np.asarray(tf.cast(outputs["pooled_output"], tf.float32)))
        return np.concatenate(rows)

    def classifier(self, backbone, num_classes, rate, steps):
        from kerapre.config import TextTrainConfig
        from kerapre.tasks.text_classifier import TextClassifier
        from kerapre.training import WarmupLinearDecay
        from kerapre.training.compile import compile_classifier

        train = TextTrainConfig()
        model = TextClassifier(backbone, num_classes, dropout=self.config.dropout)
        compile_classifier(model, train, WarmupLinearDecay(rate, steps, round(steps * train.warmup_fraction)))
        return model


def _tokenise(preprocessor, texts):
    from tqdm import tqdm

    pair = isinstance(texts, tuple)
    count = len(texts[0]) if pair else len(texts)
    parts = []
    for start in tqdm(range(0, count, 1024), desc="tokenising", leave=False, disable=count < 4096):
        chunk = tuple(tf.constant(list(t[start:start + 1024])) for t in texts) if pair \
            else tf.constant(list(texts[start:start + 1024]))
        parts.append({k: v.numpy() for k, v in preprocessor(chunk).items()})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# === The report ===


@keeps_dtype_policy
def label_efficiency(config=None, output_dir=None, log=print):
    """Runs the label-efficiency comparison and writes its CSV, plot and Markdown summary.

    Args:
        config: an ``ImageReportConfig`` (CNN backbones) or a ``TextReportConfig`` (BERT).
        output_dir: where ``label_efficiency.csv`` (one row per run, rewritten after every
            run), ``label_efficiency_summary.csv``, ``label_efficiency.png`` and
            ``label_efficiency.md`` go (default: ``runs/report_image`` or ``runs/report_text``,
            as for ``kerapre report``).
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
    from tqdm import tqdm

    config = validate(config or ImageReportConfig())
    text = isinstance(config, TextReportConfig)
    kind = _TextKind(config) if text else _ImageKind(config)
    output_dir = output_dir or os.path.join("runs", "report_text" if text else "report_image")
    backbones = {}
    for entry in config.backbones:
        name, _, path = entry.partition("=")
        if not os.path.exists(path.strip()):
            raise DataError(f"backbone {name.strip()}={path.strip()} does not exist: pretrain or export it first, "
                            "or fix the path in backbones")
        backbones[name.strip()] = path.strip()
    target = kind.load_target()
    for count in config.labels_per_class:
        if count is not None and count > target.per_class_pool():
            raise DataError(f"labels_per_class {count} exceeds the {target.per_class_pool()} examples the smallest "
                            f"class of {target.name} has after validation: lower it or use null (all)")
    os.makedirs(output_dir, exist_ok=True)
    save_config(config, os.path.join(output_dir, "config.yaml"))
    strategy = get_strategy("auto")
    precision = set_precision(config.train.precision, strategy)
    rates = config.train.learning_rates
    pretrained_methods = [m for m in config.methods if m != SCRATCH]
    total = len(config.labels_per_class) * len(config.seeds) * (
        (SCRATCH in config.methods) + len(backbones) * len(pretrained_methods))
    log(f"[report] {target.name}: {len(target.y_pool)} pool, {len(target.y_val)} validation, "
        f"{len(target.y_test)} test examples; {total} runs ({precision})")
    rows, csv_path = [], os.path.join(output_dir, CSV_FILE)
    progress = tqdm(total=total, desc="label efficiency", unit="run")

    def record(backbone_name, method, count, seed, examples, result, seconds):
        rows.append({
            "backbone": backbone_name, "method": method, "labels_per_class": ALL if count is None else count,
            "train_examples": examples, "seed": seed, "choice": result["choice"],
            "best_step": result.get("best_step", ""),
            "validation_accuracy": round(result["validation_accuracy"], 4),
            "test_accuracy": round(result["test_accuracy"], 4), "seconds": round(seconds, 1),
        })
        write_csv(rows, csv_path)  # partial results survive an interrupted report
        progress.update(1)
        with progress.external_write_mode():
            log(f"[report] {backbone_name:>12s} {method:12s} {ALL if count is None else count!s:>4s}/class "
                f"seed {seed}: validation {result['validation_accuracy']:.4f}, "
                f"test {result['test_accuracy']:.4f} ({result['choice']}, {seconds:.0f} s)")

    first_backbone = None
    with strategy.scope():
        loaded = {}
        for name, path in backbones.items():
            loaded[name] = kind.load_backbone(path)
            if first_backbone is None:
                first_backbone = loaded[name]
    if SCRATCH in config.methods:
        data = kind.inputs(target, first_backbone) if first_backbone is not None else target

        def build_scratch(rate, steps):
            with strategy.scope():
                backbone = kind.scratch_backbone(target.num_classes, first_backbone)
                backbone.trainable = True
                return kind.classifier(backbone, target.num_classes, rate, steps)

        for count in config.labels_per_class:
            for seed in config.seeds:
                index = labelled_subset(target, count, seed)
                start = time.perf_counter()
                result = fit_and_choose(build_scratch, _take(data.x_pool, index), data.y_pool[index], data,
                                        rates.scratch, config.train, seed)
                record("none", SCRATCH, count, seed, len(index), result, time.perf_counter() - start)

    for name, backbone in loaded.items():
        data = kind.inputs(target, backbone)
        initial = backbone.get_weights()
        features = None
        if PROBE in config.methods:
            backbone.trainable = False
            features = {split: kind.features(backbone, getattr(data, f"x_{split}")) for split in ("pool", "val", "test")}
        for method in pretrained_methods:
            for count in config.labels_per_class:
                for seed in config.seeds:
                    index = labelled_subset(target, count, seed)
                    start = time.perf_counter()
                    if method == PROBE:
                        probe, c, val_accuracy = linear_probe(features["pool"][index], target.y_pool[index],
                                                              features["val"], target.y_val, config.train.probe_c, seed)
                        result = {"choice": f"C={c:g}", "validation_accuracy": val_accuracy,
                                  "test_accuracy": float(probe.score(features["test"], target.y_test))}
                    else:
                        def build(rate, steps, method=method):
                            with strategy.scope():
                                backbone.set_weights(initial)
                                backbone.trainable = method == "trainable"
                                return kind.classifier(backbone, target.num_classes, rate, steps)

                        result = fit_and_choose(build, _take(data.x_pool, index), data.y_pool[index], data,
                                                getattr(rates, method), config.train, seed)
                    record(name, method, count, seed, len(index), result, time.perf_counter() - start)
        backbone.set_weights(initial)
    progress.close()

    summary = summarise_report(rows)
    comparisons = compare_to_scratch(summary)
    paths = {"csv": csv_path, "summary": write_csv(summary, os.path.join(output_dir, SUMMARY_FILE))}
    paths["plot"] = plot_report(summary, os.path.join(output_dir, PLOT_FILE), target=target,
                                majority=target.majority_rate)
    paths["markdown"] = write_markdown(summary, comparisons, os.path.join(output_dir, MARKDOWN_FILE),
                                       config=config, target=target, backbones=backbones, precision=precision)
    for line in format_comparisons(comparisons):
        log(line)
    log(f"[report] {paths['markdown']}, {paths['plot']}, {paths['csv']}")
    return LabelEfficiencyReport(rows, summary, comparisons, paths)


# === Summaries ===


def summarise_report(rows):
    """Mean, standard deviation and standard error of validation and test accuracy per
    (backbone, method, labels per class), in first-seen order."""
    groups = {}
    for row in rows:
        key = (row["backbone"], row["method"], row["labels_per_class"])
        groups.setdefault(key, []).append(row)
    summary = []
    for (backbone, method, count), runs in groups.items():
        test = [float(r["test_accuracy"]) for r in runs]
        std = statistics.stdev(test) if len(test) > 1 else 0.0
        summary.append({
            "backbone": backbone, "method": method, "labels_per_class": count,
            "train_examples": runs[0]["train_examples"], "n": len(test),
            "test_mean": round(statistics.fmean(test), 4), "test_std": round(std, 4),
            "test_se": round(std / math.sqrt(len(test)), 4),
            "validation_mean": round(statistics.fmean(float(r["validation_accuracy"]) for r in runs), 4),
        })
    return summary


def compare_to_scratch(summary):
    """For each pretrained backbone and label count: the better of ``frozen`` and
    ``trainable`` on mean validation accuracy, its test gain over scratch, and whether the
    gain exceeds twice the standard error of the difference of the two means
    (``sqrt(se_a² + se_b²)``, seeds treated as independent)."""
    cells = {(s["backbone"], s["method"], s["labels_per_class"]): s for s in summary}
    comparisons = []
    for backbone, count in dict.fromkeys((s["backbone"], s["labels_per_class"]) for s in summary):
        scratch = cells.get(("none", SCRATCH, count))
        candidates = [cells[(backbone, m, count)] for m in FINE_TUNED if (backbone, m, count) in cells]
        if scratch is None or not candidates:
            continue
        chosen = max(candidates, key=lambda s: s["validation_mean"])
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


def format_comparisons(comparisons):
    """The comparisons as printable lines."""
    return [
        f"[report] {c['backbone']} ({c['chosen']}) at {c['labels_per_class']}/class: {c['test_mean']:.4f} vs scratch "
        f"{c['scratch_mean']:.4f}, gain {c['gain']:+.4f} (2 SE {c['two_se']:.4f}): {c['verdict']}"
        for c in comparisons
    ]


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
