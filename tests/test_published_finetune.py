"""Every kind of published checkpoint goes the whole way: fine-tuned frozen and trainable, exported,
and answering raw strings through its TF Serving export as the Keras model does; continued
pretraining keeps its vocabulary and heads."""

import os

import keras_hub
import numpy as np
import pytest
import tensorflow as tf

import kerapre
from kerapre.config import BertPretrainConfig, FinetuneTextConfig, load_config
from kerapre.export.encoders import load_encoder
from kerapre.workflows.finetune_text import finetune_text
from kerapre.workflows.pretrain_bert import pretrain_bert
import bert_reference as ref
from helpers import topic_corpus

TINY = ["data.limit=48", "data.seq_length=16", "data.batch_size=16", "train.epochs=1", "train.verbose=0",
        "train.precision=float32", "data.test_split=null"]
TEXTS = ["A gripping, moving film.", "Dull and overlong.", ""]


def _hf(tmp_path, prefixed):
    w, config = ref.random_checkpoint(vocab_size=60, positions=32, seed=3, scale=0.1)
    return str(ref.write_hf(tmp_path / ("hf_pretraining" if prefixed else "hf_model"), w, config, prefixed=prefixed))


def _google(tmp_path):
    w, config = ref.random_checkpoint(vocab_size=60, positions=32, seed=4, scale=0.1)
    return str(ref.write_google(tmp_path / "uncased_L-2_H-16_A-2", w, config))


def _keras_hub_preset(tmp_path):
    vocab = ref.vocabulary(60)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=60, num_layers=1, num_heads=2, hidden_dim=16,
                                             intermediate_dim=32, max_sequence_length=32)
    preset = str(tmp_path / "keras_hub_preset")
    backbone.save_to_preset(preset)
    keras_hub.models.BertTokenizer(vocabulary=vocab).save_to_preset(preset)
    return preset


def _tf_hub(tmp_path):
    w, config = ref.random_checkpoint(vocab_size=60, positions=32, seed=5, scale=0.1)
    return str(ref.write_tf_hub(tmp_path / "bert_en_uncased_L-2_H-16_A-2", w, config))


SOURCES = {"hf_model": lambda p: _hf(p, False), "hf_pretraining": lambda p: _hf(p, True), "google": _google,
           "keras_hub_preset": _keras_hub_preset, "tf_hub": _tf_hub, "minilm_l6": lambda p: "minilm_l6"}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_each_source_fine_tunes_frozen_and_trainable_and_serves_what_keras_answers(kind, tmp_path):
    backbone = SOURCES[kind](tmp_path)
    before, _ = load_encoder(backbone)
    frozen = finetune_text(load_config(FinetuneTextConfig, overrides=[f"backbone={backbone}", "trainable=false", *TINY]),
                           model_dir=str(tmp_path / "frozen"), log=lambda *_: None)
    for a, b in zip(before.get_weights(), frozen.model.backbone.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # frozen: the encoder did not move, bit for bit
    trainable = finetune_text(load_config(FinetuneTextConfig, overrides=[f"backbone={backbone}", *TINY]),
                              model_dir=str(tmp_path / "trainable"), log=lambda *_: None)
    assert any(not np.array_equal(a, b) for a, b in zip(before.get_weights(), trainable.model.backbone.get_weights()))
    assert frozen.history["loss"] and trainable.history["loss"]

    # A classifier over a SavedModel exports as serving only (the default: no .keras, no hub).
    formats = None if kind == "tf_hub" else ("serving", "keras")
    paths = kerapre.export(trainable.model, "published", base_dir=str(tmp_path / "exports"),
                           formats=formats, label_names=["rotten", "fresh"])
    assert kind != "tf_hub" or set(paths) == {"serving"}
    expected = tf.nn.softmax(trainable.model.predict(TEXTS, verbose=0)).numpy()
    signature = tf.saved_model.load(paths["serving"]).signatures["serving_default"]
    served = signature(text=tf.constant(TEXTS))["probabilities"].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)
    answers = kerapre.predict_text(paths.get("keras", paths["serving"]), TEXTS)
    np.testing.assert_allclose([a["probabilities"]["fresh"] for a in answers], expected[:, 1], atol=1e-5)


@pytest.mark.parametrize("kind, heads", [("hf_pretraining", True), ("hf_model", False)])
def test_continued_pretraining_keeps_the_checkpoints_vocabulary_and_heads(kind, heads, tmp_path):
    backbone = SOURCES[kind](tmp_path)
    corpus = topic_corpus(tmp_path / "corpus.txt")
    config = load_config(BertPretrainConfig, overrides=[
        f"data.corpus={corpus}", f"model.init={backbone}", "data.seq_length=32", "data.max_predictions=4",
        "data.dupe_factor=1", "data.batch_size=8", "train.steps=4", "train.steps_per_epoch=2", "train.verbose=0",
        "train.precision=float32", "data.eval_split=null"])
    lines = []
    run = pretrain_bert(config, model_dir=str(tmp_path / "run"), log=lines.append)
    assert open(run.vocab_path).read().split("\n")[:60] == ref.vocabulary(60)  # learned none
    assert run.pretrainer.next_sentence == heads
    assert any("no next-sentence head" in line for line in lines) != heads
    if heads:  # the checkpoint's MLM head came along: its bias, not zeros, before training moved it
        from kerapre.export.bert_checkpoint import pretrainer_from_checkpoint
        from kerapre.export.hf_bert import read_hf_bert

        fresh = pretrainer_from_checkpoint(read_hf_bert(backbone))
        assert np.abs(fresh.mlm_head._bias.numpy()).max() > 0
    assert os.path.exists(os.path.join(run.model_dir, "pretrainer.keras"))
    reloaded, vocab = load_encoder(run.model_dir)  # and the run reloads like any other
    assert reloaded.hidden_dim == 16 and len(vocab) == 60


def test_continued_pretraining_from_a_cased_checkpoint_keeps_its_case(tmp_path):
    w, config = ref.random_checkpoint(vocab_size=60, positions=32, seed=6, scale=0.1)
    cased = ref.write_hf(tmp_path / "hf_cased", w, config, prefixed=True, lowercase=False)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "theta", "kappa", "lambda", "zeta"]
    vocab = ref.vocabulary(5) + [v for word in words for v in (word, word.capitalize())] + ["."]
    vocab += [f"w{i}" for i in range(60 - len(vocab))]
    (tmp_path / "hf_cased" / "vocab.txt").write_text("\n".join(vocab) + "\n")
    rng = np.random.default_rng(0)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join("\n".join(" ".join(rng.choice(words, 5)).capitalize() + " ." for _ in range(6))
                                  for _ in range(12)) + "\n")

    def pairs_ids(run_dir, overrides=()):
        config = load_config(BertPretrainConfig, overrides=[
            f"data.corpus={corpus}", f"model.init={cased}", "data.seq_length=32", "data.max_predictions=4",
            "data.dupe_factor=1", "data.batch_size=8", "train.steps=2", "train.steps_per_epoch=2", "train.verbose=0",
            "train.precision=float32", "data.eval_split=null", *overrides])
        lines = []
        run = pretrain_bert(config, model_dir=str(run_dir), log=lines.append)
        from kerapre.data.pair_records import load_pretraining_records
        from kerapre.export.resolve import resolve

        pairs = os.path.join(run.model_dir, "pairs", os.listdir(os.path.join(run.model_dir, "pairs"))[0])
        ids = {int(i) for pair in load_pretraining_records(pairs).as_numpy_iterator() for i in pair["token_ids"]}
        return ids, resolve(run.model_dir).lowercase, lines

    capitalised = {vocab.index(word.capitalize()) for word in words}
    ids, lowercase, _ = pairs_ids(tmp_path / "followed")
    assert lowercase is False and ids & capitalised  # the case reached the pairs, and the record says so
    ids, lowercase, lines = pairs_ids(tmp_path / "forced", ["data.lowercase=true"])
    assert lowercase is True and not ids & capitalised
    assert any("warning: data.lowercase=true but" in line and "is cased" in line for line in lines)


def test_a_checkpoints_strip_accents_reaches_the_classifier_and_its_keras_export(tmp_path):
    w, config = ref.random_checkpoint(vocab_size=60, positions=32, seed=8, scale=0.1)
    directory = ref.write_hf(tmp_path / "hf_accents", w, config, prefixed=False)
    vocab = ref.vocabulary(5) + ["café", "cafe", "."] + [f"w{i}" for i in range(52)]
    (tmp_path / "hf_accents" / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (tmp_path / "hf_accents" / "tokenizer_config.json").write_text('{"do_lower_case": true, "strip_accents": false}')
    result = finetune_text(load_config(FinetuneTextConfig, overrides=[f"backbone={directory}", *TINY]),
                           model_dir=str(tmp_path / "run"), log=lambda *_: None)
    preprocessor = result.model.preprocessor
    assert preprocessor.lowercase is True and preprocessor.strip_accents is False
    assert vocab.index("café") in preprocessor(["Café ."])["token_ids"].numpy()[0]  # kept its accent
    from kerapre.export.resolve import resolve

    assert resolve(str(tmp_path / "run")).strip_accents is False  # recorded, so a run built on it follows
    path = kerapre.export(result.model, "accents", base_dir=str(tmp_path / "exports"), formats=("keras",))["keras"]
    import keras

    reloaded = keras.saving.load_model(path).preprocessor
    assert reloaded.strip_accents is False and vocab.index("café") in reloaded(["CAFÉ"])["token_ids"].numpy()[0]
