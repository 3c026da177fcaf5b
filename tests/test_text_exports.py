"""The text path end to end: export a BERT run and a fine-tuned classifier in every format,
reload the encoder from each (and from a training checkpoint), re-export, predict, CLI."""

import json
import os
import shutil

import keras
import numpy as np
import pytest

import kerapre
from kerapre.cli import main
from kerapre.config import BertPretrainConfig, FinetuneTextConfig, load_config, save_config
from kerapre.data import BertTextPreprocessor, load_text_classification
from kerapre.data.vocab import load_vocabulary, vocabulary_hash
from kerapre.data.vocab_learning import learn_vocabulary
from kerapre.errors import DataError, ExportError
from kerapre.export import read_metadata
from kerapre.export.encoders import build_pretrainer, load_encoder
from kerapre.export.runs import load_text_run
from kerapre.models import BertEncoder
from kerapre.tasks import TextClassifier
from kerapre.workflows.finetune_text import finetune_text
from kerapre.workflows.predict import predict_text

TINY = ["data.limit=128", "data.seq_length=32", "data.batch_size=32", "train.epochs=2",
        "train.precision=float32", "train.verbose=0", "train.learning_rate=0.003"]
TEXTS = ["A gripping, moving film.", "", "Dull and overlong. " * 40]


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory):
    """A BERT pretraining run as `pretrain_bert` leaves it (config.yaml, vocab.txt, a
    checkpoint, pretrainer.keras, run.json), with bert_tiny on a 400-token vocabulary."""
    run = tmp_path_factory.mktemp("bert_run")
    texts = [t.decode() for t, _ in load_text_classification("rotten_tomatoes", "train[:1500]").as_numpy_iterator()]
    learn_vocabulary(texts, 400, output_path=str(run), show_progress=False)
    config = load_config(BertPretrainConfig, overrides=["data.seq_length=32"])
    save_config(config, str(run / "config.yaml"))
    keras.utils.set_random_seed(0)
    pretrainer = build_pretrainer(config, len(load_vocabulary(run)))
    (run / "checkpoints").mkdir()
    pretrainer.save_weights(str(run / "checkpoints" / "latest.weights.h5"))
    pretrainer.save(str(run / "pretrainer.keras"))
    (run / "run.json").write_text(json.dumps({"task": "bert_pretrain", "corpus": "wiki_sample",
                                              "config": {"data": {"seq_length": 32}}}))
    return str(run), pretrainer


@pytest.fixture(scope="module")
def bert_exports(bert_run, tmp_path_factory):
    run, pretrainer = bert_run
    base = str(tmp_path_factory.mktemp("exports"))
    preprocessor = BertTextPreprocessor(os.path.join(run, "vocab.txt"), sequence_length=32)
    return base, kerapre.export(pretrainer, "bert", base_dir=base, preprocessor=preprocessor)


@pytest.fixture(scope="module")
def classifier_run(bert_run, tmp_path_factory):
    run, _ = bert_run
    model_dir = str(tmp_path_factory.mktemp("finetune") / "run")
    config = load_config(FinetuneTextConfig, overrides=[f"backbone={run}", *TINY])
    return finetune_text(config, model_dir=model_dir, log=lambda *_: None)


def _inputs(vocab_source, texts=TEXTS):
    return BertTextPreprocessor(vocab_source, sequence_length=32)(texts)


def _pooled(encoder, inputs):
    return keras.ops.convert_to_numpy(encoder(inputs, training=False)["pooled_output"])


def test_a_bert_run_exports_hub_and_keras_by_default(bert_exports):
    base, paths = bert_exports
    assert paths == {"hub": os.path.join(base, "bert-hub", "1"),
                     "keras": os.path.join(base, "bert-keras", "1", "model.keras")}
    assert sorted(os.listdir(paths["hub"])) == ["encoder", "preprocessor"]
    assert os.path.exists(os.path.join(os.path.dirname(paths["keras"]), "vocab.txt"))


@pytest.mark.parametrize("where", ["hub parent", "hub version", "hub encoder", "keras export", "keras file",
                                   "checkpoint file", "run with only a checkpoint", "run"])
def test_load_encoder_from_every_export_kind_and_the_checkpoint(bert_run, bert_exports, tmp_path, where):
    run, pretrainer = bert_run
    _, paths = bert_exports
    if where == "run with only a checkpoint":  # a run stopped before it wrote pretrainer.keras
        stopped = tmp_path / "stopped"
        shutil.copytree(run, stopped)
        os.remove(stopped / "pretrainer.keras")
    path = {
        "hub parent": os.path.dirname(paths["hub"]),
        "hub version": paths["hub"],
        "hub encoder": os.path.join(paths["hub"], "encoder"),
        "keras export": os.path.dirname(paths["keras"]),
        "keras file": paths["keras"],
        "checkpoint file": os.path.join(run, "checkpoints", "latest.weights.h5"),
        "run with only a checkpoint": str(tmp_path / "stopped"),
        "run": run,
    }[where]
    encoder, vocab = load_encoder(path, trainable=False)
    assert vocab == load_vocabulary(run)
    assert not encoder.trainable_weights
    inputs = _inputs(vocab)
    np.testing.assert_allclose(_pooled(encoder, inputs), _pooled(pretrainer.encoder, inputs), atol=1e-5)


def test_a_hub_encoder_fine_tunes_frozen_bit_for_bit_and_trainable(bert_exports, tmp_path):
    _, paths = bert_exports
    runs = {}
    for trainable in (False, True):
        config = load_config(FinetuneTextConfig, overrides=[f"backbone={paths['hub']}",
                                                            f"trainable={str(trainable).lower()}", *TINY])
        runs[trainable] = finetune_text(config, model_dir=str(tmp_path / f"run-{trainable}"), log=lambda *_: None)
    original, _ = load_encoder(paths["hub"])
    for trainable, result in runs.items():
        # Float weights only: the dropout layers' seed-generator states move in any training run.
        same = [np.array_equal(a, b) for a, b in zip(result.model.backbone.get_weights(), original.get_weights())
                if np.issubdtype(a.dtype, np.floating)]
        assert len(same) > 10 and (all(same) if not trainable else not any(same)), trainable
        # A classifier on a SavedModel encoder keeps its weights, not a .keras file (safe_mode).
        run_dir = result.model_dir
        assert os.path.exists(os.path.join(run_dir, "model.weights.h5"))
        assert not os.path.exists(os.path.join(run_dir, "model.keras"))
        model, preprocessor, _ = load_text_run(run_dir)
        inputs = preprocessor(TEXTS)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(model(inputs)),
                                   keras.ops.convert_to_numpy(result.model(inputs)), atol=1e-5)


def test_a_fine_tuned_classifier_re_exports_with_its_metadata(classifier_run, tmp_path):
    result = classifier_run
    assert result.model.preprocessor is result.preprocessor  # the classifier carries its preprocessor
    paths = kerapre.export(result.model, "rt", base_dir=str(tmp_path), label_names=["rotten", "fresh"],
                           metadata={"data": "rotten_tomatoes", "data_license": "research use"})
    assert sorted(paths) == ["hub", "keras", "serving"]
    record = read_metadata(paths["serving"])
    assert record["label_names"] == ["rotten", "fresh"]
    assert record["vocabulary_hash"] == vocabulary_hash(result.preprocessor.vocabulary)
    assert record["kerapre_version"] == kerapre.__version__
    assert (record["data"], record["data_license"]) == ("rotten_tomatoes", "research use")
    assert record["sequence_length"] == 32 and record["pair"] is False

    expected = keras.ops.convert_to_numpy(keras.ops.softmax(result.model(result.preprocessor(TEXTS))))
    for source in (paths["serving"], os.path.dirname(paths["serving"]), paths["keras"],
                   os.path.dirname(paths["keras"]), result.model_dir):
        answers = predict_text(source, TEXTS)
        got = np.array([[a["probabilities"]["rotten"], a["probabilities"]["fresh"]] for a in answers])
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=source)
        assert [a["label"] for a in answers] == [["rotten", "fresh"][i] for i in expected.argmax(-1)]
    with pytest.raises(DataError, match="is a TF Serving export .* reload the encoder from the same model's hub"):
        load_encoder(paths["serving"])
    # Its fine-tuned encoder, reloaded from the TF Hub export, is the classifier's.
    encoder, _ = load_encoder(paths["hub"])
    inputs = result.preprocessor(TEXTS)
    np.testing.assert_allclose(_pooled(encoder, inputs), _pooled(result.model.backbone, inputs), atol=1e-5)


def test_text_export_errors_name_the_fix(classifier_run, bert_run, tmp_path):
    result = classifier_run
    with pytest.raises(ExportError, match="needs its preprocessor"):
        kerapre.export(TextClassifier(result.model.backbone, 2), "rt", base_dir=str(tmp_path))
    with pytest.raises(ExportError, match="has no backbone export: choose from serving, hub, keras"):
        kerapre.export(result.model, "rt", base_dir=str(tmp_path), formats=["backbone"],
                       preprocessor=result.preprocessor)
    with pytest.raises(ExportError, match="3 label names for a model with 2 classes"):
        kerapre.export(result.model, "rt", base_dir=str(tmp_path), preprocessor=result.preprocessor,
                       label_names=["a", "b", "c"])
    with pytest.raises(ExportError, match="has no serving export"):
        kerapre.export(bert_run[1], "bert", base_dir=str(tmp_path), formats=["serving"],
                       preprocessor=result.preprocessor)
    assert not os.listdir(tmp_path)  # nothing was written


def test_predict_errors(classifier_run, bert_exports, tmp_path):
    with pytest.raises(DataError, match="no text to classify"):
        predict_text(classifier_run.model_dir, [])
    with pytest.raises(DataError, match="classifies single texts: drop --second"):
        predict_text(classifier_run.model_dir, ["a"], second=["b"])
    with pytest.raises(ExportError, match="does not exist"):
        predict_text(str(tmp_path / "missing"), ["a"])
    with pytest.raises(ExportError, match="not a text classifier"):
        predict_text(os.path.join(bert_exports[1]["hub"], "encoder"), ["a"])


def test_load_encoder_errors(bert_run, tmp_path):
    run, _ = bert_run
    with pytest.raises(DataError, match="does not exist"):
        load_encoder(str(tmp_path / "missing"))
    with pytest.raises(DataError, match="holds no model kerapre can read"):
        load_encoder(str(tmp_path))
    wrong = tmp_path / "vocab.txt"
    wrong.write_text("\n".join(load_vocabulary(run)[:300]) + "\n")
    with pytest.raises(DataError, match="vocabulary mismatch: .* 300 tokens .* 400 token embeddings"):
        load_encoder(run, vocab=str(wrong))


def test_cli_exports_a_text_run_and_predicts(classifier_run, tmp_path, capsys):
    out = str(tmp_path / "exports")
    assert main(["export", "--model-dir", classifier_run.model_dir, "--output", out, "--name", "rt"]) == 0
    printed = capsys.readouterr().out
    assert os.path.join(out, "rt", "1") in printed and os.path.join(out, "rt-hub", "1") in printed
    record = read_metadata(os.path.join(out, "rt", "1"))
    assert record["data"] == "rotten_tomatoes" and record["data_license"] == "research use"
    assert record["label_names"] == ["rotten", "fresh"]

    assert main(["predict", "--model", os.path.join(out, "rt"), "A gripping, moving film.", "Dull."]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.split("\t")[0] in ("rotten", "fresh") for line in lines)
    assert main(["predict", "--model", os.path.join(out, "rt"), "--json", "Fine."]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["text"] == "Fine." and sum(answer["probabilities"].values()) == pytest.approx(1, abs=1e-5)

    assert main(["export", "--model-dir", classifier_run.model_dir, "--output", out, "--name", "rt",
                 "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["predict", "--model", str(tmp_path / "nothing"), "x"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_exports_a_bert_run_for_tf_hub(bert_run, tmp_path, capsys):
    run, pretrainer = bert_run
    out = str(tmp_path / "exports")
    assert main(["export", "--model-dir", run, "--output", out, "--name", "bert", "--format", "hub"]) == 0
    encoder, _ = load_encoder(os.path.join(out, "bert-hub"))
    inputs = _inputs(load_vocabulary(run))
    np.testing.assert_allclose(_pooled(encoder, inputs), _pooled(pretrainer.encoder, inputs), atol=1e-5)
    assert isinstance(load_encoder(run)[0], BertEncoder)


def test_runs_and_exports_written_by_kerapre_0_1_still_load(classifier_run, tmp_path):
    """A classifier saved without its preprocessor, beside kerapre 0.1's spellings of
    ``kerapre.json`` and ``run.json``, answers as the model it was saved from."""
    result = classifier_run
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(result.model.predict(TEXTS, verbose=0)))
    old = TextClassifier.from_config({**result.model.get_config(), "preprocessor": None})
    old.set_weights(result.model.get_weights())
    vocabulary = result.preprocessor.vocabulary
    facts = {"task": "text_classification", "pair": False, "lowercase": True, "label_names": ["rotten", "fresh"],
             "vocab_size": len(vocabulary), "vocab_hash": vocabulary_hash(vocabulary)}
    export = tmp_path / "rt-keras" / "1"
    export.mkdir(parents=True)
    old.save(export / "model.keras")
    (export / "vocab.txt").write_text("\n".join(vocabulary) + "\n")
    (export / "kerapre.json").write_text(json.dumps({**facts, "format": "keras", "sequence_length": 32}))
    assert read_metadata(str(export / "model.keras"))["vocabulary_size"] == len(vocabulary)

    run = tmp_path / "run"
    shutil.copytree(result.model_dir, run)
    old.save(run / "model.keras")
    record = json.loads((run / "run.json").read_text())
    for new, was in (("sequence_length", "seq_length"), ("vocabulary_size", "vocab_size"),
                     ("vocabulary_hash", "vocab_hash")):
        record[was] = record.pop(new)
    (run / "run.json").write_text(json.dumps(record))
    model, preprocessor, loaded = load_text_run(str(run))
    assert loaded.sequence_length == 32 and preprocessor.sequence_length == 32 and model.preprocessor is preprocessor
    for source in (str(tmp_path / "rt-keras"), str(run)):
        answers = predict_text(source, TEXTS)
        got = np.array([[a["probabilities"]["rotten"], a["probabilities"]["fresh"]] for a in answers])
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=source)
