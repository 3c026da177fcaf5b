"""BERT encoders built from keras-hub layers, with the compact-BERT presets (tiny to base)."""

import keras
import keras_hub

from kerapre.config.presets import BERT_PRESETS as PRESETS


# GELU as the checkpoint computed it: Google's original BERT and keras-hub use the tanh
# approximation, Hugging Face's ``hidden_act: gelu`` is the exact erf form (they differ by up
# to ~5e-4 per unit).
ACTIVATIONS = {
    "gelu_approximate": keras_hub.src.utils.keras_utils.gelu_approximate,
    "gelu": "gelu",  # keras.activations.gelu(approximate=False)
    "relu": "relu",
}


def activation_function(name):
    """The function of an encoder's ``activation`` name (one of ``ACTIVATIONS``)."""
    if name not in ACTIVATIONS:
        from kerapre.errors import ConfigError

        raise ConfigError(f"unknown BERT activation {name!r}: choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _kernel_initializer():
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="kerapre")
class BertEncoder(keras.Model):
    """A BERT encoder: token, position and segment embeddings, then transformer layers.

    Its layers have the names and shapes of ``keras_hub.models.BertBackbone``, so weights
    move between the two one-to-one (see ``from_keras_hub``), and it also returns every
    transformer layer's output, as TF Hub BERT encoders do.

    Inputs (dict): ``token_ids``, ``segment_ids``, ``padding_mask`` (int32 ``[batch, seq]``).
    Outputs (dict): ``sequence_output`` ``[batch, seq, hidden]``, ``pooled_output``
    ``[batch, hidden]`` (tanh dense over ``[CLS]``) and ``encoder_outputs`` (a list of
    ``num_layers`` tensors ``[batch, seq, hidden]``; the last equals ``sequence_output``).

    Args:
        vocabulary_size: number of WordPiece ids.
        num_layers: transformer layers.
        num_heads: attention heads per layer.
        hidden_dim: hidden size.
        intermediate_dim: feed-forward size (default ``4 * hidden_dim``).
        dropout: dropout rate everywhere.
        max_sequence_length: longest sequence the position embedding covers.
        num_segments: number of segment ids.
        activation: the feed-forward activation: ``gelu_approximate`` (tanh form, as Google's
            BERT and keras-hub), ``gelu`` (exact, as Hugging Face's ``gelu``) or ``relu``.
        layer_norm_epsilon: the epsilon of every layer norm.

    Examples:

    ```python
    encoder = kerapre.models.BertEncoder.from_preset("bert_tiny", vocabulary_size=8192)
    outputs = encoder({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})
    outputs["pooled_output"].shape  # (batch, 128)
    ```
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim=None,
        dropout=0.1,
        max_sequence_length=512,
        num_segments=2,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-12,
        **kwargs,
    ):
        intermediate_dim = intermediate_dim or 4 * hidden_dim
        # === Layers ===
        self.token_embedding = keras_hub.layers.ReversibleEmbedding(
            vocabulary_size, hidden_dim, embeddings_initializer=_kernel_initializer(), name="token_embedding"
        )
        self.position_embedding = keras_hub.layers.PositionEmbedding(
            max_sequence_length, initializer=_kernel_initializer(), name="position_embedding"
        )
        self.segment_embedding = keras.layers.Embedding(
            num_segments, hidden_dim, embeddings_initializer=_kernel_initializer(), name="segment_embedding"
        )
        self.embeddings_add = keras.layers.Add(name="embeddings_add")
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, name="embeddings_layer_norm")
        self.embeddings_dropout = keras.layers.Dropout(dropout, name="embeddings_dropout")
        self.transformer_layers = [
            keras_hub.layers.TransformerEncoder(
                intermediate_dim,
                num_heads,
                dropout=dropout,
                activation=activation_function(activation),
                layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=_kernel_initializer(),
                name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]
        self.pooled_dense = keras.layers.Dense(
            hidden_dim, activation="tanh", kernel_initializer=_kernel_initializer(), name="pooled_dense"
        )

        # === Functional Model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        tokens = self.token_embedding(token_ids)
        x = self.embeddings_add((tokens, self.position_embedding(tokens), self.segment_embedding(segment_ids)))
        x = self.embeddings_dropout(self.embeddings_layer_norm(x))
        encoder_outputs = []
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
            encoder_outputs.append(x)
        pooled = self.pooled_dense(x[:, 0, :])
        super().__init__(
            inputs={"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask},
            outputs={"sequence_output": x, "pooled_output": pooled, "encoder_outputs": encoder_outputs},
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon

    def get_config(self):
        return {
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, vocabulary_size, **overrides):
        """Builds a preset (``bert_tiny`` ... ``bert_base``) with fresh weights."""
        if preset not in PRESETS:
            from kerapre.errors import ConfigError

            raise ConfigError(f"unknown BERT preset {preset!r}: choose one of {', '.join(PRESETS)}")
        return cls(vocabulary_size=vocabulary_size, **{**PRESETS[preset], "name": preset, **overrides})

    @classmethod
    def from_keras_hub(cls, backbone, **overrides):
        """An encoder with the architecture and weights of a ``keras_hub.models.BertBackbone``
        (e.g. ``BertBackbone.from_preset(local_preset_dir)``), to continue pretraining it."""
        config = {
            key: getattr(backbone, key)
            for key in ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                        "dropout", "max_sequence_length", "num_segments")
        }
        encoder = cls(**{**config, **overrides})
        for layer in backbone.layers:
            if layer.weights:
                encoder.get_layer(layer.name).set_weights(layer.get_weights())
        return encoder
