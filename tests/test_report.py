"""The label-efficiency report: the linear probe, choices on validation, the CSV/PNG/Markdown
it writes, and its errors."""

import csv
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerapre
from kerapre import cli
from kerapre.config import ImageReportConfig, TextReportConfig, load_config
from kerapre.errors import ConfigError
from kerapre.report import fitting, targets
from kerapre.report import summary as summary_module
from helpers import fake_bert_run

TINY = ["train.min_steps=4", "train.epochs=1", "train.evaluations=2", "train.probe_c=[1.0]",
        "train.learning_rates.scratch=[0.001]", "train.learning_rates.frozen=[0.001]",
        "train.learning_rates.trainable=[0.001]"]


def test_keep_best_restores_the_earliest_best_epoch_and_never_stops_early():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    keep = fitting.keep_best(checks=4)
    keep.set_model(model)
    keep.on_train_begin()
    for epoch, accuracy in enumerate([0.5, 0.7, 0.4, 0.7]):
        model.set_weights([np.full((1, 1), epoch, "float32"), np.zeros(1, "float32")])
        keep.on_epoch_end(epoch, {"val_accuracy": accuracy})
        assert not getattr(model, "stop_training", False)
    keep.on_train_end()
    assert float(keep.best) == 0.7 and keep.best_epoch == 1
    assert model.get_weights()[0][0, 0] == 1.0


def test_training_steps_are_at_least_min_steps_and_a_multiple_of_the_checks():
    train = ImageReportConfig().train  # batch 32, 10 epochs, min 150 steps, 10 checks
    assert fitting.training_steps(10, train) == (10, 150, 15)  # one label per class: batch of all 10
    assert fitting.training_steps(2500, train) == (32, 790, 79)  # 79 batches a pass
    train.evaluations = 7
    batch, steps, every = fitting.training_steps(2500, train)
    assert every == 113 and steps == 791 and steps % every == 0  # rounded up to whole checks


def test_evaluation_batches_cut_tokens_to_each_batchs_longest_and_evaluate_as_padded_ones():
    from kerapre.models import BertEncoder
    from kerapre.tasks.text_classifier import TextClassifier

    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 17, size=50)
    mask = (np.arange(16)[None] < lengths[:, None]).astype("int32")
    x = {"token_ids": mask * rng.integers(5, 60, size=(50, 16)).astype("int32"),
         "segment_ids": np.zeros_like(mask), "padding_mask": mask}
    y = rng.integers(0, 2, size=50)
    batches = list(fitting.evaluation_batches(x, y, batch_size=8).as_numpy_iterator())
    widths = [inputs["padding_mask"].shape[1] for inputs, _ in batches]
    assert widths == [inputs["padding_mask"].sum(axis=1).max() for inputs, _ in batches] == sorted(widths)
    assert widths[0] < 16 and sum(len(labels) for _, labels in batches) == 50
    seen = sorted((tuple(ids[ids > 0]), label) for inputs, labels in batches
                  for ids, label in zip(inputs["token_ids"], labels))
    assert seen == sorted((tuple(ids[ids > 0]), label) for ids, label in zip(x["token_ids"], y))  # each once

    keras.utils.set_random_seed(0)
    encoder = BertEncoder(vocabulary_size=60, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
                          max_sequence_length=16)
    model = TextClassifier(encoder, 2, dropout=0.0, pooling="mean")
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    padded = model.evaluate(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), verbose=0)
    np.testing.assert_allclose(model.evaluate(fitting.evaluation_batches(x, y, batch_size=8), verbose=0), padded,
                               rtol=1e-5)
    images = np.zeros((3, 28, 28, 1), "uint8")
    assert next(iter(fitting.evaluation_batches(images, np.zeros(3)).as_numpy_iterator()))[0].shape == images.shape


def test_linear_probe_chooses_c_on_validation():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 40))

    def draw(n):
        labels = np.arange(n) % 3
        return centres[labels] + rng.normal(size=(n, 40)) * 1.5, labels

    (x, y), (xv, yv) = draw(15), draw(600)
    cs = [1e-4, 1e-2, 1.0, 100.0]
    accuracies = [make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x, y).score(xv, yv)
                  for c in cs]
    assert len(set(accuracies)) > 1  # the choice matters on this data
    probe, c, accuracy = fitting.linear_probe(x, y, xv, yv, cs)
    assert c == cs[int(np.argmax(accuracies))] and accuracy == max(accuracies) > 1 / 3 + 0.2
    assert probe.score(xv, yv) == accuracy


def _summary(method, test, validation):
    n = len(test)
    std = float(np.std(test, ddof=1))
    return {"backbone": "none" if method == "scratch" else "ssl", "method": method, "labels_per_class": 5,
            "train_examples": 50, "n": n, "test_mean": float(np.mean(test)), "test_std": std,
            "test_se": std / np.sqrt(n), "validation_mean": validation}


def test_comparison_chooses_frozen_or_trainable_on_validation_and_judges_by_two_standard_errors():
    summary = [_summary("scratch", [0.70, 0.72, 0.71], 0.7),
               _summary("frozen", [0.80, 0.81, 0.82], 0.85),     # chosen: best validation
               _summary("trainable", [0.90, 0.91, 0.92], 0.80),  # better test, never looked at
               _summary("linear_probe", [0.95, 0.95, 0.96], 0.99)]  # not a fine-tuning way
    (comparison,) = summary_module.compare_to_scratch(summary)
    assert comparison["chosen"] == "frozen" and comparison["verdict"] == "beats scratch"
    assert comparison["gain"] == pytest.approx(0.10, abs=1e-9)
    summary[1] = _summary("frozen", [0.65, 0.78, 0.72], 0.85)  # same mean as scratch + 0.005, wide spread
    assert summary_module.compare_to_scratch(summary)[0]["verdict"] == "within 2 SE"


def test_labelled_subsets_depend_on_the_seed_and_hold_every_class():
    target = targets.load_image_target("mnist_5k", validation_per_class=50)
    assert len(target.y_val) == 500 and len(target.y_pool) == 2500 and len(target.y_test) == 2000
    a, b = targets.labelled_subset(target, 5, seed=0), targets.labelled_subset(target, 5, seed=1)
    assert len(a) == 50 and set(a) != set(b)
    assert np.bincount(target.y_pool[a], minlength=10).tolist() == [5] * 10
    assert len(targets.labelled_subset(target, None, seed=0)) == 2500
    # The validation examples are the same whatever the seed and never in the pool.
    again = targets.load_image_target("mnist_5k", validation_per_class=50)
    np.testing.assert_array_equal(again.x_val, target.x_val)


def test_image_report_writes_every_cell_the_plot_and_the_markdown(cnn_file, in_tmp, capsys):
    argv = ["report", "image", "--backbone", f"fresh={cnn_file}", "--output", "report",
            "--set", "labels_per_class=[1, 2]", "--set", "seeds=[0, 1]", "--set", "limit=300",
            "--set", "validation_per_class=5", *[a for item in TINY for a in ("--set", item)]]
    assert cli.main(argv) == 0
    with open("report/label_efficiency.csv") as f:
        rows = list(csv.DictReader(f))
    cells = {(r["backbone"], r["method"], r["labels_per_class"], r["seed"]) for r in rows}
    expected = {("none", "scratch", n, s) for n in ("1", "2") for s in ("0", "1")} | {
        ("fresh", m, n, s) for m in ("frozen", "trainable", "linear_probe") for n in ("1", "2") for s in ("0", "1")}
    assert cells == expected and len(rows) == len(expected)
    for row in rows:
        assert all(value != "" for key, value in row.items() if key != "best_step")
        assert 0 <= float(row["test_accuracy"]) <= 1 and 0 <= float(row["validation_accuracy"]) <= 1
        assert int(row["train_examples"]) == 10 * int(row["labels_per_class"])
    with open("report/label_efficiency_summary.csv") as f:
        assert len(list(csv.DictReader(f))) == 8
    with open("report/label_efficiency.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    markdown = open("report/label_efficiency.md", encoding="utf-8").read()
    assert "| way | 1 | 2 |" in markdown and "| fresh · linear probe |" in markdown
    assert "| fresh | 2 |" in markdown  # the comparison with scratch
    assert not [f for f in os.listdir("report") if ".tmp" in f]


def test_a_report_run_again_keeps_the_runs_it_made_unless_their_backbone_or_config_changed(cnn_file, in_tmp):
    backbone = in_tmp / "backbone.keras"
    backbone.write_bytes(open(cnn_file, "rb").read())
    config = load_config(ImageReportConfig, overrides=[
        f"backbones=[fresh={backbone}]", "labels_per_class=[1]", "seeds=[0, 1]", "limit=300", "validation_per_class=5",
        "methods=[scratch, linear_probe]", *TINY])

    def report():
        lines = []
        result = kerapre.label_efficiency(config, output_dir="report", log=lines.append)
        return result, lines, [line.split()[1] for line in lines if line.endswith(", an earlier run)")]

    first, _, reused = report()
    assert len(first.rows) == 4 and reused == []
    with open("report/label_efficiency.csv", encoding="utf-8") as f:
        lines = f.readlines()
    with open("report/label_efficiency.csv", "w", encoding="utf-8") as f:
        f.writelines(lines[:3])  # interrupted after its second run
    resumed, log, reused = report()
    assert any("resuming: 2 of 4 runs are in report/label_efficiency.csv" in line for line in log)
    assert reused == ["none", "none"] and resumed.rows[:2] == first.rows[:2]  # from the CSV, timings included
    run_key = ("backbone", "method", "labels_per_class", "seed")
    assert [[r[k] for k in run_key] for r in resumed.rows] == [[r[k] for k in run_key] for r in first.rows]
    assert [s["test_mean"] for s in resumed.summary[:1]] == [s["test_mean"] for s in first.summary[:1]]

    config.seeds = [0, 1, 2]  # a seed more: only its runs are made
    more, _, reused = report()
    assert len(reused) == 4 and len(more.rows) == 6 and more.rows[:2] == resumed.rows[:2]

    stat = os.stat(backbone)
    os.utime(backbone, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the backbone was trained again
    _, log, reused = report()
    assert reused == ["none"] * 3  # scratch does not use it
    assert any("3 runs in report/label_efficiency.csv are of another config, target or backbone" in line
               for line in log)
    config.train.probe_c = [0.1]
    _, _, reused = report()
    assert reused == []


def test_text_report_runs_all_four_ways(tmp_path):
    run = fake_bert_run(tmp_path / "bert")
    config = load_config(TextReportConfig, overrides=[
        f"backbones=[tiny={run}]", "labels_per_class=[4]", "seeds=[0]", "limit=64", "seq_length=16", *TINY])
    report = kerapre.label_efficiency(config, output_dir=str(tmp_path / "report"), log=lambda *_: None)
    assert [(r["method"], r["train_examples"]) for r in report.rows] == [
        ("scratch", 8), ("frozen", 8), ("trainable", 8), ("linear_probe", 8)]
    assert os.path.exists(report.paths["plot"]) and os.path.exists(report.paths["markdown"])


@pytest.mark.parametrize("override, message", [
    ("backbones=[bad]", "is not name=path"),
    ("backbones=[a=x, a=y]", "names must differ"),
    ("backbones=[scratch=x]", "'scratch' is a method"),
    ("methods=[scratch, finetune]", "methods must be a list drawn from"),
    ("labels_per_class=[0]", "labels_per_class must list positive counts"),
    ("labels_per_class=[5, 5]", "labels_per_class has a repeat"),
    ("train.learning_rates.frozen=[]", "train.learning_rates.frozen must list"),
])
def test_malformed_configs_are_refused_in_one_line(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(ImageReportConfig, overrides=[override])


def test_missing_backbone_and_too_many_labels_name_the_fix(cnn_file, in_tmp, capsys):
    assert cli.main(["report", "image", "--backbone", "simclr=runs/nowhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "runs/nowhere does not exist: pretrain or export backbone simclr first" in err
    assert cli.main(["report", "image", "--backbone", f"x={cnn_file}", "--set", "labels_per_class=[251]"]) == 2
    assert "labels_per_class 251 exceeds the 250 examples" in capsys.readouterr().err
    assert not os.path.exists("runs/report_image/label_efficiency.csv")


def test_quickstart_report_stage_pretrains_simclr_and_writes_the_quick_report(in_tmp, capsys):
    tiny = ["cnn.pretrain.data.name=mnist_5k", "cnn.pretrain.data.limit=256", "cnn.pretrain.train.epochs=1",
            "cnn.pretrain.train.verbose=0", "report.simclr.train.epochs=1", "report.simclr.data.limit=256",
            "report.simclr.train.verbose=0", "report.quick_labels_per_class=[1]", "report.image.seeds=[0]",
            "report.image.limit=300", "report.image.validation_per_class=5",
            *[f"report.image.{item}" for item in TINY if "learning_rates" not in item]]
    assert cli.main(["quickstart", "--stage", "report", *[a for item in tiny for a in ("--set", item)]]) == 0
    out = capsys.readouterr().out
    assert "pretraining simclr on mnist_5k[train] images, labels dropped" in out and "stage took" in out
    with open("runs/quickstart/report/cnn/label_efficiency.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["backbone"] for r in rows} == {"none", "supervised", "simclr"}
    assert {r["choice"] for r in rows if r["method"] != "linear_probe"} == {"lr=0.001"}  # the quick form's one rate
    assert os.path.exists("saved_models/cnn_fashion-backbone/1/saved_model.pb")  # made for it: no cnn stage ran
    assert os.path.exists("runs/quickstart/report/cnn/label_efficiency.png")


def test_one_summariser_and_verdict_for_the_quickstart_and_the_report():
    runs = {("none", "scratch"): [(0.70, 0.69), (0.72, 0.71), (0.71, 0.70)],
            ("pretrained", "frozen"): [(0.80, 0.79), (0.82, 0.80), (0.81, 0.81)],
            ("pretrained", "trainable"): [(0.90, 0.70), (0.91, 0.71), (0.92, 0.72)]}
    rows = [{"backbone": backbone, "method": method, "seed": seed, "test_accuracy": test, "validation_accuracy": val}
            for (backbone, method), values in runs.items() for seed, (test, val) in enumerate(values)]
    summary = summary_module.summarise(rows)
    assert [(s["backbone"], s["method"], s["n"]) for s in summary] == [(b, m, 3) for b, m in runs]
    scratch = summary[0]
    assert scratch["test_mean"] == pytest.approx(0.71) and scratch["test_std"] == pytest.approx(0.01)
    assert scratch["test_se"] == pytest.approx(0.01 / np.sqrt(3), abs=1e-4)
    assert scratch["validation_mean"] == pytest.approx(0.70) and scratch["values"] == [0.70, 0.72, 0.71]
    (line,) = summary_module.format_comparisons(summary_module.compare_to_scratch(summary), prefix="verdict:")
    # frozen wins on validation (0.80 vs 0.71) though trainable tests higher: chosen on validation only
    assert line.startswith("verdict: pretrained (frozen, chosen on validation): 0.8100 vs scratch 0.7100")
    assert line.endswith("beats scratch")
    one_seed = summary_module.summarise([r for r in rows if r["seed"] == 0])
    assert summary_module.compare_to_scratch(one_seed)[0]["verdict"] == "one seed: no spread to judge by"


def test_a_linear_probe_exports_as_the_dense_head_that_computes_it():
    from kerapre.data import BertTextPreprocessor
    from kerapre.models import BertEncoder
    from kerapre.report.features import pooling_model

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"the a film was good bad great awful plot".split()]
    texts = ["the film was good", "a great film", "good plot", "the film was bad", "awful plot", "bad bad film"]
    labels = np.array([1, 1, 1, 0, 0, 0])
    encoder = BertEncoder(vocabulary_size=len(vocab), num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32)
    preprocessor = BertTextPreprocessor(vocab, sequence_length=8)
    for pooling in ("pooled_output", "mean"):
        # the features exactly as the classifier will see its inputs (padded to 8)
        features = pooling_model(encoder, pooling).predict(preprocessor(texts), verbose=0)
        probe, _, _ = fitting.linear_probe(features, labels, features, labels, [1.0])
        model = fitting.probe_classifier(encoder, probe, 2, preprocessor=preprocessor, pooling=pooling)
        probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(model.predict(texts, verbose=0)))
        # float32 against scikit-learn's float64: the standardised weights are large where features vary little
        np.testing.assert_allclose(probabilities, probe.predict_proba(features), atol=1e-4)
