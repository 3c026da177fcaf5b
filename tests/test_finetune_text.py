"""Tests of the text fine-tuning workflow: load_encoder, tiny finetune_text runs, bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kerapre.config import FinetuneTextConfig, load_config, save_config
from kerapre.data.vocab import load_vocabulary, write_vocabulary
from kerapre.errors import ConfigError, DataError
from kerapre.models import BertEncoder
from kerapre.tasks import TextClassifier
from kerapre.export.encoders import load_encoder
from kerapre.workflows.finetune_text import DEFAULT_LEARNING_RATES, finetune_text

TINY = ["data.limit=256", "data.seq_length=32", "data.batch_size=32", "train.epochs=3",
        "train.precision=float32", "train.verbose=0"]


@pytest.fixture(scope="module")
def trainable_run(pretrain_run, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("finetune") / "run")
    config = load_config(FinetuneTextConfig, overrides=[f"backbone={pretrain_run}", *TINY,
                                                        "train.learning_rate=0.003"])
    return finetune_text(config, model_dir=model_dir, log=lambda *_: None)


def _encoder_weights(run_dir):
    return load_encoder(run_dir)[0].get_weights()


def test_load_encoder_from_a_run_or_its_pretrainer_file(pretrain_run):
    encoder, vocab = load_encoder(pretrain_run, trainable=False)
    assert isinstance(encoder, BertEncoder) and not encoder.trainable and not encoder.trainable_weights
    assert vocab == load_vocabulary(pretrain_run) and encoder.vocabulary_size == len(vocab)
    again, _ = load_encoder(os.path.join(pretrain_run, "pretrainer.keras"))
    assert again.trainable
    for a, b in zip(encoder.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_tiny_run_writes_the_run_and_learns(trainable_run):
    run, model_dir = trainable_run, trainable_run.model_dir
    for name in ("config.yaml", "vocab.txt", "metrics.csv", "model.keras", "run.json", "logs"):
        assert os.path.exists(os.path.join(model_dir, name)), name
    assert not os.path.exists(os.path.join(model_dir, "checkpoints"))
    assert run.history["loss"][-1] < run.history["loss"][0]
    assert set(run.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert run.train_examples == 256 and run.learning_rate == 0.003
    assert 0 <= run.validation_accuracy <= 1 and 0 <= run.test_accuracy <= 1
    assert 0.5 < run.test_majority_rate < 0.7
    record = json.load(open(os.path.join(model_dir, "run.json")))
    assert record["task"] == "finetune_text" and record["label_names"] == ["rotten", "fresh"]
    assert record["test_accuracy"] == run.test_accuracy and record["sequence_length"] == 32
    assert load_vocabulary(model_dir) == run.preprocessor.vocabulary
    assert len(open(os.path.join(model_dir, "metrics.csv")).read().splitlines()) == 1 + 3


def test_model_file_loads_with_safe_mode_in_a_fresh_process(trainable_run):
    texts = ["A gripping, beautifully acted film.", "Dull and far too long."]
    expected = trainable_run.model.predict(trainable_run.preprocessor(texts), verbose=0)
    code = (
        "import json, sys, keras, kerapre\n"
        "from kerapre.data import BertTextPreprocessor\n"
        f"model = keras.saving.load_model({os.path.join(trainable_run.model_dir, 'model.keras')!r}, safe_mode=True)\n"
        f"preprocessor = BertTextPreprocessor({trainable_run.model_dir!r}, sequence_length=32)\n"
        f"print(json.dumps([type(model).__name__, model.predict(preprocessor({texts!r}), verbose=0).tolist()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    name, logits = json.loads(done.stdout.strip().splitlines()[-1])
    assert name == "TextClassifier"
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_frozen_run_leaves_the_encoder_bit_for_bit(pretrain_run):
    config = load_config(FinetuneTextConfig, overrides=[f"backbone={pretrain_run}", "trainable=false",
                                                        "labels_per_class=16", *TINY, "data.test_split=null"])
    run = finetune_text(config, log=lambda *_: None)
    assert run.learning_rate == 1e-3 and run.train_examples == 32 and run.test_accuracy is None
    assert run.model_dir is None
    assert not run.model.backbone.trainable
    for before, after in zip(_encoder_weights(pretrain_run), run.model.backbone.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_scratch_run_uses_the_configured_vocabulary(pretrain_run):
    config = load_config(FinetuneTextConfig, overrides=[
        "backbone=scratch", f"data.vocab={pretrain_run}/vocab.txt", "labels_per_class=8", *TINY,
        "train.epochs=1", "data.validation_split=null"])
    run = finetune_text(config, log=lambda *_: None)
    assert isinstance(run.model, TextClassifier) and run.model.backbone.name == "bert_tiny"
    assert run.model.backbone.vocabulary_size == len(load_vocabulary(pretrain_run))
    assert run.learning_rate == DEFAULT_LEARNING_RATES["scratch"] and run.validation_accuracy is None


def test_bad_input_fails_before_anything_is_written(pretrain_run, tmp_path):
    model_dir = str(tmp_path / "run")

    def run(*overrides):
        finetune_text(load_config(FinetuneTextConfig, overrides=[*TINY, *overrides]), model_dir=model_dir,
                      log=lambda *_: None)

    with pytest.raises(DataError, match=r"missing does not exist: pass a BERT pretraining run"):
        run(f"backbone={tmp_path}/missing")
    with pytest.raises(DataError, match="holds no model kerapre can read"):
        run(f"backbone={tmp_path}")
    short = str(tmp_path / "short_vocab.txt")
    write_vocabulary(load_vocabulary(pretrain_run)[:-3], short)
    with pytest.raises(DataError, match=r"vocabulary mismatch: .* has \d+ tokens but the encoder"):
        run(f"backbone={pretrain_run}", f"data.vocab={short}")
    with pytest.raises(DataError, match="unknown data set 'no_such_set'"):
        run(f"backbone={pretrain_run}", "data.name=no_such_set")
    with pytest.raises(DataError, match="has no split 'dev'"):
        run(f"backbone={pretrain_run}", "data.validation_split=dev")
    with pytest.raises(DataError, match="exceeds the encoder's max_sequence_length 64"):
        run(f"backbone={pretrain_run}", "data.seq_length=128")
    with pytest.raises(ConfigError, match="backbone=scratch needs a vocabulary"):
        run("backbone=scratch")
    assert not os.path.exists(model_dir)


def test_config_defaults_and_yaml_round_trip(tmp_path):
    config = load_config(FinetuneTextConfig)
    assert (config.backbone, config.trainable, config.labels_per_class) == ("runs/bert_pretrain", True, None)
    assert (config.data.name, config.data.seq_length, config.data.batch_size) == ("rotten_tomatoes", 128, 32)
    assert (config.train.epochs, config.train.learning_rate, config.head.dropout) == (3, None, 0.1)
    path = str(tmp_path / "config.yaml")
    save_config(config, path)
    assert load_config(FinetuneTextConfig, path, ["train.learning_rate=2e-5"]).train.learning_rate == 2e-5
    with pytest.raises(ConfigError, match="data.seq_length must be in"):
        load_config(FinetuneTextConfig, overrides=["data.seq_length=4"])
    with pytest.raises(ConfigError, match="did you mean 'labels_per_class'"):
        load_config(FinetuneTextConfig, overrides=["labels_per_clas=3"])


def test_cli_finetune_text_frozen(pretrain_run, tmp_path, capsys):
    from kerapre import cli

    argv = ["finetune", "text", "--backbone", pretrain_run, "--freeze", "--model-dir", str(tmp_path / "run"),
            *sum((["--set", o] for o in TINY), []), "--set", "train.epochs=1"]
    before = _encoder_weights(pretrain_run)
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "fine-tuned on 256 labelled examples" in out and "majority class" in out
    assert json.load(open(tmp_path / "run" / "run.json"))["task"] == "finetune_text"
    assert all(np.array_equal(a, b) for a, b in zip(before, _encoder_weights(pretrain_run)))
    assert cli.main(["finetune", "text", "--backbone", str(tmp_path / "missing")]) == 2
    assert "kerapre: error:" in capsys.readouterr().err
