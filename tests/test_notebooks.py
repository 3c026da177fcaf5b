"""Runs each notebook top to bottom on tiny settings (``KERAPRE_NOTEBOOK_SMALL=1``)."""

import csv
import json
import pathlib
import re
import sys
import time

import nbclient
import nbformat
import pytest

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT = 300  # seconds
KERNEL_NAME = "kerapre-test-python"


def _outputs_text(notebook):
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output["text"])
            elif "data" in output and "text/plain" in output["data"]:
                texts.append(output["data"]["text/plain"])
    return "\n".join(texts)


@pytest.fixture
def kernel_of_this_python(tmp_path, monkeypatch):
    """A kernelspec that runs the interpreter running the tests (the venv's), found first.

    The stock ``python3`` spec would also resolve to it (jupyter_client swaps a bare
    ``python`` for ``sys.executable``), unless a user-level ``python3`` spec points elsewhere;
    a spec of our own on ``JUPYTER_PATH``, which is searched first, leaves nothing to chance.
    """
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kerapre tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL_NAME


def test_notebooks_are_committed_without_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: clear its outputs"


def _execute(name, tmp_path, monkeypatch, kernel):
    """Runs notebook ``name`` in SMALL mode in a fresh working directory.

    Returns ``(executed notebook, working directory, seconds)``; a failing cell raises
    CellExecutionError with its traceback.
    """
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    monkeypatch.setenv("KERAPRE_NOTEBOOK_SMALL", "1")  # the kernel inherits this environment
    client = nbclient.NotebookClient(
        notebook, kernel_name=kernel, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(work_dir)}}
    )
    start = time.perf_counter()
    client.execute()
    return notebook, work_dir, time.perf_counter() - start


def test_cnn_notebook_runs_top_to_bottom(tmp_path, monkeypatch, kernel_of_this_python):
    notebook, work_dir, _ = _execute("cnn_pretrain_finetune.ipynb", tmp_path, monkeypatch,
                                           kernel_of_this_python)

    text = _outputs_text(notebook)
    assert "SMALL" in text  # the tiny settings were really used
    assert "source test accuracy" in text
    assert "predicted" in text  # the TF Serving signature answered
    for method in ("scratch", "frozen", "trainable"):
        assert f"{method:9s} test accuracy" in text, method
    assert "frozen backbone weights unchanged bit for bit: True" in text
    assert any(
        "image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", [])
    ), "the final bar chart was not drawn"
    assert (work_dir / "kerapre_notebook" / "saved_models" / "cnn_fashion" / "1" / "saved_model.pb").exists()


def test_bert_notebook_runs_top_to_bottom(tmp_path, monkeypatch, kernel_of_this_python):
    notebook, work_dir, _ = _execute("bert_pretraining.ipynb", tmp_path, monkeypatch, kernel_of_this_python)

    text = _outputs_text(notebook)
    assert "SMALL" in text  # the tiny settings were really used
    for corpus in ("wiki_sample[train]: 94 documents", "wiki_sample[test]: 10 documents",
                   "lee_news[train]: 270 documents", "lee_news[test]: 30 documents"):
        assert corpus in text, corpus
    assert "1,000 tokens learned in" in text
    assert "next_sentence_label 0 (B follows A)" in text and "next_sentence_label 1 (B comes from another" in text
    assert "-> [MASK]" in text  # a decoded masked position
    assert "a second pass over the same pairs picks other positions: True" in text
    assert "bert_tiny: 2 layers, hidden size 128, 2 heads" in text
    for row in ("before training", "after training", "majority-token baseline"):
        assert row in text, row
    assert "the same vocabulary as section 2: True" in text
    assert any(
        "image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", [])
    ), "the metrics.csv curves were not drawn"
    run_dir = work_dir / "kerapre_bert_notebook" / "run"
    for name in ("pretrainer.keras", "metrics.csv", "vocab.txt", "checkpoints/latest.weights.h5"):
        assert (run_dir / name).exists(), name
    record = json.loads((run_dir / "run.json").read_text())
    assert record["config"]["train"]["steps"] == 10 and record["vocabulary_size"] == 1000
    assert record["held_out_after"]["loss"] < record["held_out_before"]["loss"]


def test_bert_finetune_notebook_runs_top_to_bottom(tmp_path, monkeypatch, kernel_of_this_python):
    notebook, work_dir, _ = _execute("bert_finetune_export.ipynb", tmp_path, monkeypatch,
                                           kernel_of_this_python)

    text = _outputs_text(notebook)
    assert "SMALL" in text  # the tiny settings were really used
    assert "10 steps on wiki_sample, 1,000-token vocabulary" in text
    for split, rate in (("train", "0.578"), ("validation", "0.580"), ("test", "0.576")):
        assert re.search(rf"^  {split} .* sentences .* majority rate {rate}$", text, re.MULTILINE), split
    assert "pieces      ['[CLS]'" in text and "segment_ids [0, " in text  # the sentence pair
    assert "256 training examples, 8 steps, peak learning rate" in text  # the hand-made fit
    assert "method     validation     test" in text
    for method in ("scratch", "frozen", "trainable", "majority"):
        assert re.search(rf"^{method} +0\.\d{{4}} +0\.\d{{4}}", text, re.MULTILINE), method
    assert "frozen encoder weights unchanged bit for bit: True" in text
    assert "chosen on validation:" in text
    for signature in ("serving_default", "serving_tokenized", "serving_examples"):
        assert signature in text, signature
    assert text.count("predicted ") >= 2  # serving_default answered both sentences
    assert "'label': " in text  # predict_text answered
    assert "serving_default, 32 sentence(s):" in text
    assert "the vocabulary of section 1: True" in text  # the TF Hub encoder, reloaded into Keras 3
    assert "tf_keras logits" in text
    assert any(
        "image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", [])
    ), "the validation accuracy chart was not drawn"
    root = work_dir / "kerapre_finetune_notebook"
    for method in ("scratch", "frozen", "trainable"):
        record = json.loads((root / "finetune" / method / "run.json").read_text())
        assert record["train_examples"] == 256 and record["sequence_length"] == 32, method
    exports = root / "saved_models"
    for name in ("rotten_tomatoes/1/saved_model.pb", "rotten_tomatoes/1/assets.extra/kerapre.json",
                 "rotten_tomatoes-hub/1/encoder/saved_model.pb", "rotten_tomatoes-hub/1/preprocessor/saved_model.pb",
                 "rotten_tomatoes-keras/1/model.keras"):
        assert (exports / name).exists(), name
    metadata = json.loads((exports / "rotten_tomatoes/1/assets.extra/kerapre.json").read_text())
    assert metadata["label_names"] == ["rotten", "fresh"] and metadata["method"] in ("scratch", "frozen", "trainable")


def test_self_supervised_notebook_runs_top_to_bottom(tmp_path, monkeypatch, kernel_of_this_python):
    notebook, work_dir, _ = _execute("self_supervised_images.ipynb", tmp_path, monkeypatch,
                                           kernel_of_this_python)

    text = _outputs_text(notebook)
    assert "SMALL" in text  # the tiny settings were really used
    assert "one element: TensorSpec(shape=(28, 28, 1), dtype=tf.uint8" in text  # images, no label
    assert "simclr: 256 unlabelled images, loss" in text and "rotation: 256 unlabelled images, loss" in text
    assert "trainable=False: (None, 28, 28, 1) -> (None, 1600), 0 trainable weight tensors" in text
    assert "trainable=True : (None, 28, 28, 1) -> (None, 1600)" in text
    assert "50 labelled training digits" in text
    for name in ("untrained", "simclr", "rotation"):  # the probe's table
        assert re.search(rf"^{name} +0\.\d{{4}} +0\.\d{{4}}$", text, re.MULTILINE), name
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert sum("image/png" in output.get("data", {}) for output in outputs) >= 2, "the views grid or the report plot"
    assert any("# Label efficiency on mnist_5k" in output.get("data", {}).get("text/markdown", "") for output in outputs)

    root = work_dir / "kerapre_ssl_notebook"
    for method in ("simclr", "rotation"):
        assert (root / "runs" / f"{method}_pretrain" / "model.keras").exists(), method
        assert (root / "saved_models" / f"{method}_mnist-backbone" / "1" / "saved_model.pb").exists(), method
        assert (root / "saved_models" / f"{method}_mnist-keras" / "1" / "model.keras").exists(), method
    report = root / "report"
    for name in ("label_efficiency.png", "label_efficiency.md", "label_efficiency_summary.csv", "config.yaml"):
        assert (report / name).exists(), name
    with open(report / "label_efficiency.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cells = {(row["backbone"], row["method"], row["labels_per_class"], row["seed"]) for row in rows}
    expected = {("none", "scratch", "2", "0")} | {
        (backbone, method, "2", "0") for backbone in ("simclr", "rotation")
        for method in ("frozen", "trainable", "linear_probe")
    }
    assert cells == expected and len(rows) == len(expected)
    assert all(row["train_examples"] == "20" for row in rows)  # 2 labels per class, 10 classes
    assert all(0 <= float(row["test_accuracy"]) <= 1 for row in rows)
