import csv
import glob
import json
import os

import keras
import keras_hub
import numpy as np
import pytest

from kerapre import cli
from kerapre.config import BertPretrainConfig, load_config
from kerapre.data.vocab import load_vocabulary
from kerapre.errors import DataError
from kerapre.export.encoders import load_encoder_for_init
from kerapre.workflows.pretrain_bert import pretrain_bert
from helpers import topic_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return topic_corpus(tmp_path_factory.mktemp("corpus") / "corpus.txt")


TINY = ["data.vocab_size=200", "data.seq_length=32", "data.max_predictions=5", "data.dupe_factor=2",
        "data.eval_split=null", "data.batch_size=16", "train.steps=12", "train.steps_per_epoch=6",
        "train.verbose=0", "train.precision=float32", "model.dropout=0.0"]


def _config(corpus, *extra):
    return load_config(BertPretrainConfig, overrides=[f"data.corpus={corpus}", *TINY, *extra])


def test_tiny_run_writes_the_run_and_learns(corpus, tmp_path):
    run = pretrain_bert(_config(corpus, "train.learning_rate=0.005"), model_dir=str(tmp_path), log=lambda *_: None)
    for name in ("config.yaml", "vocab.txt", "vocab.json", "metrics.csv", "pretrainer.keras", "run.json",
                 "checkpoints/latest.weights.h5"):
        assert os.path.exists(tmp_path / name), name
    assert len(glob.glob(str(tmp_path / "pairs" / "corpus.txt-train-*" / "pairs.json"))) == 1
    assert run.history["loss"][-1] < run.history["loss"][0]
    assert {"mlm_accuracy", "nsp_accuracy", "mlm_perplexity"} <= set(run.train_metrics)
    record = json.load(open(tmp_path / "run.json"))
    assert record["task"] == "bert_pretrain" and record["vocabulary_size"] == len(load_vocabulary(run.vocab_path))
    assert record["sequences_per_second"] > 0
    reloaded = keras.saving.load_model(tmp_path / "pretrainer.keras")
    assert reloaded.encoder.count_params() == run.pretrainer.encoder.count_params()


def test_held_out_split_is_evaluated_before_and_after(tmp_path):
    corpus_dir = tmp_path / "c"
    corpus_dir.mkdir()
    config = load_config(BertPretrainConfig, overrides=[
        "data.corpus=wiki_sample", "data.eval_split=test", "data.train_split=train[:8%]", *TINY[:4],
        "data.batch_size=16", "train.steps=4", "train.steps_per_epoch=2", "train.verbose=0",
        "train.eval_batches=3", "train.precision=float32"])
    run = pretrain_bert(config, model_dir=str(tmp_path / "run"), log=lambda *_: None)
    assert set(run.before) == set(run.after) == {"loss", "mlm_accuracy", "mlm_perplexity", "nsp_accuracy"}
    assert 0 < run.mlm_majority_baseline < 1
    assert run.after["loss"] < run.before["loss"]


def test_continued_pretraining_from_a_keras_hub_preset(corpus, tmp_path):
    vocab_run = pretrain_bert(_config(corpus, "train.steps=2", "train.steps_per_epoch=2"),
                              model_dir=str(tmp_path / "v"), log=lambda *_: None)
    vocab = load_vocabulary(vocab_run.vocab_path)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(vocab), num_layers=2, num_heads=2,
                                             hidden_dim=32, intermediate_dim=64, max_sequence_length=64)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab)
    preset = str(tmp_path / "preset")
    backbone.save_to_preset(preset)
    tokenizer.save_to_preset(preset)

    encoder = load_encoder_for_init(preset)
    x = {"token_ids": np.ones((1, 8), "int32"), "segment_ids": np.zeros((1, 8), "int32"),
         "padding_mask": np.ones((1, 8), "int32")}
    np.testing.assert_allclose(encoder(x)["pooled_output"], backbone(x)["pooled_output"], atol=1e-6)

    run = pretrain_bert(_config(corpus, f"model.init={preset}", "data.vocab_size=100"),
                        model_dir=str(tmp_path / "continued"), log=lambda *_: None)
    assert load_vocabulary(run.vocab_path) == vocab  # the preset's own vocabulary, not a new one
    assert run.pretrainer.encoder.hidden_dim == 32
    # ... and from that kerapre run again.
    again = pretrain_bert(_config(corpus, f"model.init={tmp_path / 'continued'}"),
                          model_dir=str(tmp_path / "again"), log=lambda *_: None)
    assert again.pretrainer.encoder.hidden_dim == 32


def test_vocabulary_mismatch_and_missing_init_are_refused(corpus, tmp_path):
    first = pretrain_bert(_config(corpus, "train.steps=2", "train.steps_per_epoch=2"),
                          model_dir=str(tmp_path / "a"), log=lambda *_: None)
    other_vocab = tmp_path / "vocab.txt"
    other_vocab.write_text("\n".join(load_vocabulary(first.vocab_path)[:-3]) + "\n")
    with pytest.raises(DataError, match="vocabulary mismatch"):
        pretrain_bert(_config(corpus, f"model.init={tmp_path / 'a'}", f"data.vocab={other_vocab}"),
                      model_dir=str(tmp_path / "b"), log=lambda *_: None)
    with pytest.raises(DataError, match="does not exist"):
        pretrain_bert(_config(corpus, f"model.init={tmp_path / 'nowhere'}"),
                      model_dir=str(tmp_path / "c"), log=lambda *_: None)


def test_rerun_with_other_settings_makes_new_vocabulary_and_pairs(corpus, tmp_path):
    pretrain_bert(_config(corpus, "train.steps=2", "train.steps_per_epoch=2"), model_dir=str(tmp_path),
                  log=lambda *_: None)
    first = load_vocabulary(tmp_path / "vocab.txt")
    lines = []
    run = pretrain_bert(_config(corpus, "train.steps=2", "train.steps_per_epoch=2", "data.vocab_size=120",
                                "train.seed=3"), model_dir=str(tmp_path), log=lines.append)
    assert any("learning a 120-token" in line for line in lines)
    assert any("pairing sentences" in line for line in lines)  # the seed changed: new pairs
    assert len(load_vocabulary(run.vocab_path)) <= 120 < len(first) + 1


def test_mlm_only_pretraining_and_file_corpus_without_held_out_set(corpus, tmp_path):
    lines = []
    run = pretrain_bert(_config(corpus, "model.next_sentence=false", "data.eval_split=test"),
                        model_dir=str(tmp_path), log=lines.append)
    assert run.before is None and "nsp_accuracy" not in run.train_metrics
    assert any("text-file corpora have no held-out split" in line for line in lines)
    held_out = pretrain_bert(_config(corpus, f"data.eval_corpus={corpus}", "train.steps=2",
                                     "train.steps_per_epoch=2"), model_dir=str(tmp_path / "h"), log=lambda *_: None)
    assert held_out.after is not None


def test_missing_corpus_fails_before_writing(tmp_path):
    with pytest.raises(DataError):
        pretrain_bert(_config(str(tmp_path / "nothing.txt")), model_dir=str(tmp_path / "run"), log=lambda *_: None)
    assert not os.path.exists(tmp_path / "run")


def test_cli_pretrain_bert(corpus, in_tmp, capsys):
    argv = ["pretrain", "bert", "--corpus", corpus, "--steps", "4", *sum((["--set", o] for o in TINY[:5]), [])]
    assert cli.main([*argv, "--set", "train.steps_per_epoch=2", "--set", "train.verbose=0"]) == 0
    assert "pretrained bert_tiny" in capsys.readouterr().out
    assert os.path.exists("runs/bert_pretrain/pretrainer.keras")
    assert cli.main(["pretrain", "bert", "--corpus", str(in_tmp / "missing.txt")]) == 2
    assert "kerapre: error:" in capsys.readouterr().err


def test_quickstart_bert_stage(corpus, in_tmp, capsys):
    import bert_reference as ref

    w, config = ref.random_checkpoint(vocab_size=60, positions=64, seed=5, scale=0.1)
    published = str(ref.write_hf("published", w, config, prefixed=False))  # stands in for minilm_l6
    overrides = [f"bert.pretrain.{o}" for o in TINY if not o.startswith("data.eval_split")]
    argv = ["quickstart", "--stage", "bert", "--set", f"bert.pretrain.data.corpus={corpus}"]
    argv += sum((["--set", o] for o in overrides), [])
    argv += ["--set", "bert.pretrain.data.eval_split=null", "--set", f"bert.published={published}"]
    finetune = ["data.limit=64", "data.seq_length=32", "train.epochs=1", "train.verbose=0", "train.precision=float32"]
    argv += sum((["--set", f"bert.finetune.{o}"] for o in finetune), [])
    argv += sum((["--set", f"bert.published_finetune.{o}"] for o in [*finetune, "labels_per_class=8"]), [])
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "[bert] stage took" in out and "sequences/s" in out
    assert os.path.exists("runs/quickstart/bert/pretrain/pretrainer.keras")
    # Scratch, the published encoder frozen (a probe) and trainable, chosen on validation, exported,
    # answered through serving_default.
    with open("runs/quickstart/bert/finetune.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == ["scratch", "frozen", "trainable"]
    assert [r["backbone"] for r in rows] == ["none", published, published]
    assert rows[1]["choice"].startswith("C=") and rows[1]["train_examples"] == rows[2]["train_examples"] == "16"
    assert all(0 <= float(r["test_accuracy"]) <= 1 and float(r["test_majority_rate"]) > 0.5 for r in rows)
    assert "one seed: no spread to judge by" in out
    chosen = out.split("chosen on validation: ")[1].split()[0]
    best = max(rows, key=lambda r: float(r["validation_accuracy"]))
    assert float(best["validation_accuracy"]) == max(float(r["validation_accuracy"]) for r in rows if r["method"] == chosen)
    assert os.path.exists("runs/quickstart/bert/finetune_accuracy.png")
    assert os.path.exists("saved_models/rotten_tomatoes/1/saved_model.pb")
    assert os.path.exists("saved_models/rotten_tomatoes-hub/1/encoder/saved_model.pb")
    answers = [line for line in out.splitlines() if line.startswith("[bert] serving_default: ")]
    assert len(answers) == 2 and all(a.split()[2] in ("fresh", "rotten") for a in answers)


def test_an_edited_corpus_is_paired_and_its_vocabulary_learned_again(tmp_path):
    corpus = topic_corpus(tmp_path / "corpus.txt")
    config = _config(corpus, "train.steps=2", "train.steps_per_epoch=2")
    logs = []
    pretrain_bert(config, model_dir=str(tmp_path / "first"), log=logs.append)
    pretrain_bert(config, model_dir=str(tmp_path / "first"), log=logs.append)  # unchanged: both reused
    assert sum("pairing sentences" in line for line in logs) == 1
    assert sum("learning a 200-token" in line for line in logs) == 1
    (pairs,) = glob.glob(str(tmp_path / "first" / "pairs" / "*" / "pairs.json"))
    before = json.load(open(pairs))
    with open(corpus, "a", encoding="utf-8") as f:
        f.write("\nA new document about gardens begins.\nIt has a second sentence too.\nAnd a third.\n")
    pretrain_bert(config, model_dir=str(tmp_path / "first"), log=logs.append)
    assert sum("pairing sentences" in line for line in logs) == 2
    assert sum("learning a 200-token" in line for line in logs) == 2
    after = json.load(open(pairs))
    assert after["corpus_fingerprint"] != before["corpus_fingerprint"]
    assert after["stats"]["documents"] == before["stats"]["documents"] + 1


def test_pretrain_bert_cli_reads_a_compressed_json_lines_corpus(corpus, in_tmp):
    import gzip

    documents = open(corpus, encoding="utf-8").read().strip().split("\n\n")
    with gzip.open("docs.jsonl.gz", "wt", encoding="utf-8") as f:
        for i, document in enumerate(documents):
            f.write(json.dumps({"id": i, "body": " ".join(document.splitlines())}) + "\n")
    argv = ["pretrain", "bert", "--model-dir", "run", "--set", "data.corpus=docs.jsonl.gz", "--set", "data.text_key=body",
            *[a for item in TINY for a in ("--set", item)]]
    assert cli.main(argv) == 0
    (pairs,) = glob.glob("run/pairs/*/pairs.json")
    stats = json.load(open(pairs))["stats"]
    assert stats["documents"] == len(documents) == 40 and stats["sentences"] == 40 * 8
