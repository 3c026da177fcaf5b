import keras
import numpy as np
import pytest
import tensorflow as tf

from kerapre.data.masking import PretrainingMasker
from kerapre.models.bert import BertEncoder
from kerapre.tasks.bert_pretrainer import BertPretrainer

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = SPECIAL + [f"w{i}" for i in range(120)] + [f"##p{i}" for i in range(40)]
PAD, CLS, SEP, MASK = 0, 2, 3, 4


def _pairs(n=256, length=48, seed=0, words=True):
    """Token pairs [CLS] A [SEP] B [SEP] [PAD]... with words of 1-3 WordPieces."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, length), "int32")
    segments = np.zeros((n, length), "int32")
    for row in range(n):
        used = rng.integers(length // 2, length - 1)
        tokens = []
        while len(tokens) < used - 3:
            tokens.append(rng.integers(5, 125))
            if words:
                tokens += list(rng.integers(125, 165, rng.integers(0, 3)))
        tokens = tokens[: used - 3]
        split = len(tokens) // 2
        seq = [CLS] + tokens[:split] + [SEP] + tokens[split:] + [SEP]
        ids[row, : len(seq)] = seq
        segments[row, split + 2: len(seq)] = 1
    return {
        "token_ids": ids,
        "segment_ids": segments,
        "padding_mask": (ids != PAD).astype("int32"),
        "next_sentence_label": rng.integers(0, 2, n).astype("int32"),
    }


def _mask(whole_word, n=512, seed=0):
    tf.random.set_seed(seed)
    pairs = _pairs(n, seed=seed)
    masker = PretrainingMasker(VOCAB, max_predictions=12, whole_word=whole_word)
    x, y, w = masker({k: tf.constant(v) for k, v in pairs.items()})
    return pairs, x, y, w


@pytest.mark.parametrize("whole_word", [False, True])
def test_masking_rates_and_special_tokens(whole_word):
    pairs, x, y, w = _mask(whole_word)
    original, masked = pairs["token_ids"], x["token_ids"].numpy()
    positions, weights, labels = x["mask_positions"].numpy(), w["mlm"].numpy(), y["mlm"].numpy()
    real = ((original != PAD) & (original != CLS) & (original != SEP)).sum(1)
    chosen = weights.sum(1)
    # ~15% of the real tokens (whole words round down to fit), capped at max_predictions.
    rate = chosen.sum() / np.minimum(real * 0.15, 12).sum()
    assert (0.85 if whole_word else 0.9) < rate < 1.1
    assert chosen.max() <= 12
    rows, cols = np.nonzero(weights)
    picked = positions[rows, cols]
    assert not np.isin(original[rows, picked], [PAD, CLS, SEP]).any()  # specials never masked
    np.testing.assert_array_equal(labels[rows, cols], original[rows, picked])  # labels are the originals
    outcome = masked[rows, picked]
    as_mask = (outcome == MASK).mean()
    kept = (outcome == original[rows, picked]).mean()
    assert 0.75 < as_mask < 0.85 and 0.06 < kept < 0.14
    # Nothing outside the chosen positions changes.
    untouched = np.ones_like(original, bool)
    untouched[rows, picked] = False
    np.testing.assert_array_equal(masked[untouched], original[untouched])


def test_whole_word_groups_are_masked_together():
    pairs, x, _, w = _mask(True)
    original = pairs["token_ids"]
    chosen = np.zeros_like(original, bool)
    rows, cols = np.nonzero(w["mlm"].numpy())
    chosen[rows, x["mask_positions"].numpy()[rows, cols]] = True
    continuation = np.isin(original, np.arange(125, 165))
    # A continuation piece is chosen exactly when the piece before it is.
    r, c = np.nonzero(continuation)
    np.testing.assert_array_equal(chosen[r, c], chosen[r, c - 1])
    assert continuation[chosen].any()  # multi-piece words were really chosen


def test_masks_are_redrawn_on_every_pass():
    pairs = _pairs(32)
    ds = tf.data.Dataset.from_tensor_slices(pairs).batch(32).repeat(2).map(PretrainingMasker(VOCAB, max_predictions=12))
    first, second = [x["mask_positions"].numpy() for x, _, _ in ds]
    assert not np.array_equal(first, second)


def test_pretrainer_outputs_and_pooler_gets_gradients():
    pretrainer = BertPretrainer(BertEncoder.from_preset("bert_tiny", vocabulary_size=len(VOCAB)))
    x, y, w = PretrainingMasker(VOCAB, max_predictions=12)({k: tf.constant(v) for k, v in _pairs(8).items()})
    out = pretrainer(x)
    assert out["mlm"].shape == (8, 12, len(VOCAB)) and out["nsp"].shape == (8, 2)
    pretrainer.compile(keras.optimizers.AdamW(1e-3))
    with tf.GradientTape() as tape:
        out = pretrainer(x, training=True)
        loss = keras.losses.sparse_categorical_crossentropy(y["nsp"], out["nsp"], from_logits=True)
    grads = tape.gradient(loss, pretrainer.encoder.get_layer("pooled_dense").trainable_weights)
    assert all(g is not None and float(tf.norm(g)) > 0 for g in grads)


def test_mlm_head_is_tied_to_the_token_embedding():
    encoder = BertEncoder.from_preset("bert_tiny", vocabulary_size=len(VOCAB))
    pretrainer = BertPretrainer(encoder)
    head = pretrainer.get_layer("mlm_head")
    assert any(v is encoder.token_embedding.embeddings for v in head.weights)  # the same variable
    hidden, vocab = 128, len(VOCAB)
    # Only the head's dense, layer norm and output bias are new: no second embedding matrix.
    head_params = hidden * hidden + hidden + 2 * hidden + vocab
    assert pretrainer.count_params() == encoder.count_params() + head_params + (2 * hidden + 2)


def test_tiny_run_loss_goes_down_and_bf16_tracks_fp32():
    pairs = _pairs(128, length=32)
    losses = {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.mixed_precision.set_dtype_policy(policy)
        keras.utils.set_random_seed(1)
        pretrainer = BertPretrainer(BertEncoder.from_preset("bert_tiny", vocabulary_size=len(VOCAB), dropout=0.0))
        pretrainer.compile(keras.optimizers.AdamW(2e-3))
        ds = tf.data.Dataset.from_tensor_slices(pairs).batch(32).map(PretrainingMasker(VOCAB, max_predictions=8))
        history = pretrainer.fit(ds.cache().repeat(), steps_per_epoch=4, epochs=6, verbose=0).history
        losses[policy] = np.array(history["loss"])
        assert losses[policy][-1] < losses[policy][0]
        assert {"mlm_accuracy", "mlm_perplexity", "nsp_accuracy", "mlm_loss", "nsp_loss"} <= set(history)
    keras.mixed_precision.set_dtype_policy("float32")
    np.testing.assert_allclose(losses["mixed_bfloat16"], losses["float32"], rtol=0.05)


def test_mlm_only_mode_has_no_nsp_head():
    pretrainer = BertPretrainer(BertEncoder.from_preset("bert_tiny", vocabulary_size=len(VOCAB)), next_sentence=False)
    masked = PretrainingMasker(VOCAB, max_predictions=8)({k: tf.constant(v) for k, v in _pairs(4).items()})[0]
    assert set(pretrainer(masked)) == {"mlm"}


@pytest.mark.parametrize("next_sentence", [True, False])
def test_perplexity_is_the_exp_of_the_mlm_loss_and_the_exact_metric_agrees_on_one_batch(next_sentence):
    from kerapre.tasks.bert_pretrainer import MaskedLMPerplexity

    keras.utils.set_random_seed(2)
    pairs = _pairs(32, length=32)
    ds = tf.data.Dataset.from_tensor_slices(pairs).batch(32).map(
        PretrainingMasker(VOCAB, max_predictions=8, next_sentence=next_sentence)).cache()
    pretrainer = BertPretrainer(BertEncoder.from_preset("bert_tiny", vocabulary_size=len(VOCAB)),
                                next_sentence=next_sentence)
    pretrainer.compile(keras.optimizers.AdamW(1e-3))
    logs = pretrainer.evaluate(ds, return_dict=True, verbose=0)
    mlm_loss = logs["mlm_loss"] if next_sentence else logs["loss"]
    np.testing.assert_allclose(logs["mlm_perplexity"], np.exp(mlm_loss), rtol=1e-6)
    assert 50 < logs["mlm_perplexity"] < 400  # near the vocabulary size (165) before training
    history = pretrainer.fit(ds.repeat(), steps_per_epoch=2, epochs=1, verbose=0).history
    assert "mlm_perplexity" in history

    # The exact metric computes the same value from its own cross-entropy over one batch, and wins.
    pretrainer.compile(keras.optimizers.AdamW(1e-3), weighted_metrics={"mlm": [MaskedLMPerplexity(name="perplexity")]})
    exact = pretrainer.evaluate(ds, return_dict=True, verbose=0)
    mlm_loss = exact["mlm_loss"] if next_sentence else exact["loss"]
    np.testing.assert_allclose(exact["mlm_perplexity"], np.exp(mlm_loss), rtol=1e-4)
