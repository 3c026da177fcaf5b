import keras
import keras_hub
import numpy as np
import pytest

from kerapre.errors import ConfigError
from kerapre.models.bert import PRESETS, BertEncoder


def _inputs(batch=2, length=16, vocab=100, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "token_ids": rng.integers(0, vocab, (batch, length)).astype("int32"),
        "segment_ids": np.repeat([[0] * (length // 2) + [1] * (length - length // 2)], batch, 0).astype("int32"),
        "padding_mask": np.ones((batch, length), "int32"),
    }


@pytest.mark.parametrize(
    "preset, params",
    [
        # Published sizes with BERT's 30,522-token uncased vocabulary (pooler included).
        ("bert_tiny", 4_385_920),
        ("bert_mini", 11_170_560),
        ("bert_small", 28_763_648),
        ("bert_medium", 41_373_184),
        ("bert_base", 109_482_240),
    ],
)
def test_preset_parameter_counts(preset, params):
    assert BertEncoder.from_preset(preset, vocabulary_size=30_522).count_params() == params


def test_outputs_and_shapes():
    encoder = BertEncoder.from_preset("bert_tiny", vocabulary_size=100)
    out = encoder(_inputs())
    assert out["sequence_output"].shape == (2, 16, 128)
    assert out["pooled_output"].shape == (2, 128)
    assert len(out["encoder_outputs"]) == PRESETS["bert_tiny"]["num_layers"]
    np.testing.assert_allclose(out["encoder_outputs"][-1].numpy(), out["sequence_output"].numpy())


def test_weights_match_keras_hub_bert_backbone_one_to_one():
    hub = keras_hub.models.BertBackbone(vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=32,
                                        intermediate_dim=64, max_sequence_length=64)
    encoder = BertEncoder.from_keras_hub(hub)
    x = _inputs()
    ours, theirs = encoder(x), hub(x)
    np.testing.assert_allclose(ours["sequence_output"].numpy(), theirs["sequence_output"].numpy(), atol=1e-6)
    np.testing.assert_allclose(ours["pooled_output"].numpy(), theirs["pooled_output"].numpy(), atol=1e-6)


def test_config_and_keras_file_round_trip(tmp_path):
    encoder = BertEncoder.from_preset("bert_tiny", vocabulary_size=50, max_sequence_length=32)
    encoder.save(tmp_path / "e.keras")
    loaded = keras.saving.load_model(tmp_path / "e.keras")
    assert loaded.get_config() == encoder.get_config()
    x = _inputs(vocab=50)
    np.testing.assert_allclose(loaded(x)["pooled_output"].numpy(), encoder(x)["pooled_output"].numpy(), atol=1e-6)


def test_padding_is_ignored():
    encoder = BertEncoder.from_preset("bert_tiny", vocabulary_size=100, dropout=0.0)
    x = _inputs(batch=1)
    x["padding_mask"][:, 12:] = 0
    y = {k: v.copy() for k, v in x.items()}
    y["token_ids"][:, 12:] = 7  # change only padded tokens
    np.testing.assert_allclose(encoder(x)["pooled_output"].numpy(), encoder(y)["pooled_output"].numpy(), atol=1e-5)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown BERT preset 'bert_huge'"):
        BertEncoder.from_preset("bert_huge", vocabulary_size=10)
