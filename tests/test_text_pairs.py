"""Tests of sentence-pair text classification end to end: GLUE pair sets (under TFDS
mock_data), a tiny pair fine-tuning run, its serving export (``first``/``second``) and predict.

TFDS ships no offline metadata for glue, so mock_data runs in its USE_CODE mode: features
(and so the pair keys and label names) come from the builder's code, any split name is
accepted and every split yields the same random examples.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kerapre import cli
from kerapre.config import FinetuneTextConfig, load_config
from kerapre.data import load_text_classification, majority_class_rate, split_labelled_texts, text_dataset_info
from kerapre.data.text_classification import is_pair_dataset
from kerapre.errors import DataError
from kerapre.export.runs import load_text_run
from kerapre.workflows.finetune_text import finetune_text
from kerapre.workflows.predict import predict_text

PAIR_SETS = [
    ("glue/mrpc", ("sentence1", "sentence2"), ("not_equivalent", "equivalent")),
    ("glue/rte", ("sentence1", "sentence2"), ("entailment", "not_entailment")),
    ("glue/qqp", ("question1", "question2"), ("not_duplicate", "duplicate")),
    ("glue/mnli", ("premise", "hypothesis"), ("entailment", "neutral", "contradiction")),
]
TINY = ["data.name=glue/mrpc", "data.limit=64", "data.seq_length=32", "data.batch_size=32",
        "data.test_split=validation", "train.epochs=1", "train.precision=float32", "train.verbose=0"]
FIRSTS = ["Is the film worth seeing?", "A cat sat on the mat.", ""]
SECONDS = ["Yes, it is gripping from start to finish.", "The mat had a cat on it.", "Nothing."]


@pytest.fixture(scope="module")
def pair_run(pretrain_run, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("finetune_pairs") / "run")
    config = load_config(FinetuneTextConfig, overrides=[f"backbone={pretrain_run}", *TINY])
    with tfds.testing.mock_data(num_examples=64):
        return finetune_text(config, model_dir=model_dir, log=lambda *_: None)


@pytest.fixture(scope="module")
def exported(pair_run, tmp_path_factory):
    """``{format: path}`` of ``kerapre export --model-dir`` of the pair run."""
    output = str(tmp_path_factory.mktemp("exports"))
    argv = ["export", "--model-dir", pair_run.model_dir, "--output", output, "--name", "mrpc",
            "--format", "serving", "--format", "keras"]
    assert cli.main(argv) == 0
    return {"serving": os.path.join(output, "mrpc", "1"), "keras": os.path.join(output, "mrpc-keras", "1")}


def _softmax(run, firsts, seconds):
    logits = run.model(run.preprocessor((tf.constant(firsts), tf.constant(seconds))), training=False)
    return keras.ops.convert_to_numpy(keras.ops.softmax(logits))


@pytest.mark.parametrize("name, keys, label_names", PAIR_SETS)
def test_glue_pair_sets_yield_pairs_and_labels(name, keys, label_names):
    assert is_pair_dataset(name) and is_pair_dataset(f"{name}:2.0.0")
    with tfds.testing.mock_data(num_examples=6):
        split = "validation_matched" if name == "glue/mnli" else "validation"
        examples = list(load_text_classification(name, split).as_numpy_iterator())
        assert len(examples) == 6
        for (first, second), label in examples:
            assert isinstance(first, bytes) and isinstance(second, bytes) and isinstance(label, np.int64)
            assert 0 <= label < len(label_names)
        raw = list(tfds.load(name, split=split).as_numpy_iterator())
        assert [texts for texts, _ in examples] == [(ex[keys[0]], ex[keys[1]]) for ex in raw]
        assert [label for _, label in examples] == [ex["label"] for ex in raw]
        info = text_dataset_info(name)
        assert info.pair and info.num_classes == len(label_names) and info.label_names == label_names
        assert 1 / len(label_names) <= majority_class_rate(load_text_classification(name, split)) <= 1


def test_pair_label_subsets_and_unlabelled_test_splits():
    with tfds.testing.mock_data(num_examples=40):
        pool = load_text_classification("glue/mrpc", "train")
        labelled, rest = split_labelled_texts(pool, 3, num_classes=2, seed=0)
        pairs = list(labelled.as_numpy_iterator())
        assert sorted(label for _, label in pairs) == [0, 0, 0, 1, 1, 1] and int(rest.cardinality()) == 34
        assert all(isinstance(texts, tuple) and len(texts) == 2 for texts, _ in pairs)
        for name, split in (("glue/mrpc", "test"), ("glue/qqp", "test[:10]"), ("glue/mnli", "test_matched"),
                            ("glue/mnli", "test_mismatched")):
            with pytest.raises(DataError, match="no labels"):
                load_text_classification(name, split)
        # Single-text sets are unchanged.
        assert not is_pair_dataset("glue/sst2") and not text_dataset_info("glue/sst2").pair
        text, _ = next(load_text_classification("glue/sst2", "train").as_numpy_iterator())
        assert isinstance(text, bytes)


def test_pair_run_records_pair(pair_run):
    record = json.load(open(os.path.join(pair_run.model_dir, "run.json")))
    assert record["pair"] is True and record["data"] == "glue/mrpc"
    assert record["label_names"] == ["not_equivalent", "equivalent"]
    assert pair_run.train_examples == 64 and 0.5 <= pair_run.test_majority_rate <= 1
    assert 0 <= pair_run.test_accuracy <= 1
    _, _, loaded = load_text_run(pair_run.model_dir)
    assert loaded.pair is True


def test_serving_export_takes_first_and_second(pair_run, exported):
    export_dir = exported["serving"]
    metadata = json.load(open(os.path.join(export_dir, "assets.extra", "kerapre.json")))
    assert metadata["pair"] is True and metadata["signatures"][:2] == ["serving_pair", "serving_default"]
    signatures = tf.saved_model.load(export_dir).signatures
    expected = _softmax(pair_run, FIRSTS, SECONDS)
    for name in ("serving_default", "serving_pair"):
        assert set(signatures[name].structured_input_signature[1]) == {"first", "second"}, name
        outputs = signatures[name](first=tf.constant(FIRSTS), second=tf.constant(SECONDS))
        np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
        assert [label.decode() for label in outputs["labels"].numpy()] == [
            ("not_equivalent", "equivalent")[i] for i in expected.argmax(-1)]


def test_predict_text_on_pair_export_keras_export_and_run(pair_run, exported):
    expected = _softmax(pair_run, FIRSTS, SECONDS)
    for path in (exported["serving"], exported["keras"], pair_run.model_dir):
        results = predict_text(path, FIRSTS, second=SECONDS)
        assert [r["text"] for r in results] == FIRSTS
        probabilities = [[r["probabilities"][name] for name in ("not_equivalent", "equivalent")] for r in results]
        np.testing.assert_allclose(probabilities, expected, atol=1e-5, err_msg=path)
        with pytest.raises(DataError, match="classifies sentence pairs: pass --second"):
            predict_text(path, FIRSTS)
    with pytest.raises(DataError, match="3 first texts but 1 second texts"):
        predict_text(exported["serving"], FIRSTS, second=SECONDS[:1])


def test_cli_predict_pair(exported, capsys):
    assert cli.main(["predict", "--model", exported["serving"], "--second", "B", "A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    label, confidence, text = lines[0].split("\t")
    assert label in ("not_equivalent", "equivalent") and 0.5 <= float(confidence) <= 1 and text == "A"
    assert cli.main(["predict", "--model", exported["serving"], "A"]) == 2
    assert "pass --second" in capsys.readouterr().err
