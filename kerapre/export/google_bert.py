"""Reading Google's original BERT checkpoints into a ``BertCheckpoint``.

A directory as Google published them (``uncased_L-12_H-768_A-12/``, the compact BERTs):
``bert_config.json``, ``bert_model.ckpt.index`` and ``.data-*``, ``vocab.txt``. The variables
are read with ``tf.train.load_checkpoint`` (no TF1 graph is built), the masked-LM and
next-sentence heads (``cls/predictions/*``, ``cls/seq_relationship/*``) included. Google's
``hidden_act: gelu`` is the tanh approximation; its casing is in the directory's name
(``uncased_*`` / ``cased_*``).
"""

import json
import os

import tensorflow as tf

from kerapre.export.bert_checkpoint import BertCheckpoint, config_activation

CONFIG_FILE = "bert_config.json"
CHECKPOINT_PREFIX = "bert_model.ckpt"
GOOGLE_ACTIVATIONS = {"gelu": "gelu_approximate", "relu": "relu"}
# Google's names (left) as Hugging Face's (right); "{i}" is the layer. Kernels are [in, out]
# there and [out, in] here, except the next-sentence weights, [2, hidden] in both.
_LAYER = {
    "attention/self/query": "attention.self.query", "attention/self/key": "attention.self.key",
    "attention/self/value": "attention.self.value", "attention/output/dense": "attention.output.dense",
    "intermediate/dense": "intermediate.dense", "output/dense": "output.dense",
}
_LAYER_NORMS = {"attention/output/LayerNorm": "attention.output.LayerNorm", "output/LayerNorm": "output.LayerNorm"}


def is_google_bert_directory(path):
    """Whether ``path`` holds ``bert_config.json`` and ``bert_model.ckpt.index``."""
    return os.path.isfile(os.path.join(path, CONFIG_FILE)) and os.path.isfile(
        os.path.join(path, CHECKPOINT_PREFIX + ".index"))


def read_google_bert(directory):
    """The ``BertCheckpoint`` of a Google BERT checkpoint directory.

    Raises:
        DataError: if a variable the config implies is missing.
    """
    directory = os.fspath(directory)
    with open(os.path.join(directory, CONFIG_FILE), encoding="utf-8") as f:
        config = json.load(f)
    activation = config_activation(config, GOOGLE_ACTIVATIONS, directory)
    reader = tf.train.load_checkpoint(os.path.join(directory, CHECKPOINT_PREFIX))
    names = set(reader.get_variable_to_shape_map())
    return BertCheckpoint.from_config(
        config,
        directory,
        activation=activation,
        layer_norm_epsilon=1e-12,  # tf.contrib.layers.layer_norm's, which Google's BERT used
        weights={hf: _array(reader, google) for google, hf in _names(config["num_hidden_layers"]).items()
                 if google in names},
        lowercase=casing_from_name(directory),
    )


def google_variable_names(directory):
    """The variable names of a Google BERT checkpoint, without reading the arrays."""
    return set(tf.train.load_checkpoint(os.path.join(directory, CHECKPOINT_PREFIX)).get_variable_to_shape_map())


def _array(reader, name):
    """A variable as Hugging Face keeps it: dense kernels transposed to ``[out, in]``."""
    value = reader.get_tensor(name)
    return value.T if name.endswith("/kernel") else value


def _names(num_layers):
    """``{google variable: Hugging Face name}``."""
    names = {f"bert/embeddings/{part}": f"embeddings.{part}.weight"
             for part in ("word_embeddings", "position_embeddings", "token_type_embeddings")}
    names.update({"bert/embeddings/LayerNorm/gamma": "embeddings.LayerNorm.weight",
                  "bert/embeddings/LayerNorm/beta": "embeddings.LayerNorm.bias"})
    for i in range(num_layers):
        for google, hf in _LAYER.items():
            names[f"bert/encoder/layer_{i}/{google}/kernel"] = f"encoder.layer.{i}.{hf}.weight"
            names[f"bert/encoder/layer_{i}/{google}/bias"] = f"encoder.layer.{i}.{hf}.bias"
        for google, hf in _LAYER_NORMS.items():
            names[f"bert/encoder/layer_{i}/{google}/gamma"] = f"encoder.layer.{i}.{hf}.weight"
            names[f"bert/encoder/layer_{i}/{google}/beta"] = f"encoder.layer.{i}.{hf}.bias"
    names.update({
        "bert/pooler/dense/kernel": "pooler.dense.weight", "bert/pooler/dense/bias": "pooler.dense.bias",
        "cls/predictions/transform/dense/kernel": "cls.predictions.transform.dense.weight",
        "cls/predictions/transform/dense/bias": "cls.predictions.transform.dense.bias",
        "cls/predictions/transform/LayerNorm/gamma": "cls.predictions.transform.LayerNorm.weight",
        "cls/predictions/transform/LayerNorm/beta": "cls.predictions.transform.LayerNorm.bias",
        "cls/predictions/output_bias": "cls.predictions.bias",
        "cls/seq_relationship/output_weights": "cls.seq_relationship.weight",
        "cls/seq_relationship/output_bias": "cls.seq_relationship.bias",
    })
    return names


def casing_from_name(path):
    """``True`` for a directory named ``*uncased*``, ``False`` for ``*cased*``, else ``None``."""
    name = os.path.basename(os.path.normpath(path)).lower()
    if "uncased" in name:
        return True
    return False if "cased" in name else None
