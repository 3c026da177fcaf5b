"""Reading a Hugging Face BERT directory into a ``BertCheckpoint``.

A directory holds ``config.json`` (``model_type: bert``), its weights as ``model.safetensors``
or shards named by ``model.safetensors.index.json``, ``vocab.txt`` and, usually,
``tokenizer_config.json`` (``do_lower_case``). ``BertModel``, ``BertForMaskedLM`` and
``BertForPreTraining`` checkpoints all read: their names may carry the ``bert.`` prefix, their
layer norms ``gamma`` / ``beta`` or ``weight`` / ``bias``, and the ``cls.*`` heads come along.

keras-hub converts such directories too (``keras_hub/src/utils/transformers/convert_bert.py``),
but into its ``BertBackbone`` only: it drops the ``cls.*`` heads, needs ``pooler.*`` (which
``BertForMaskedLM`` checkpoints lack), builds the tanh GELU whatever ``hidden_act`` says, and
its tokenizer ignores ``strip_accents``. kerapre reads the arrays with ``safetensors`` and maps
them once, with Google's checkpoints, in ``bert_checkpoint``.
"""

import json
import os

from kerapre.errors import DataError
from kerapre.export.bert_checkpoint import BertCheckpoint, config_activation

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
# Hugging Face's hidden_act names and the encoder activation that computes them.
HF_ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_approximate", "gelu_pytorch_tanh": "gelu_approximate",
                  "relu": "relu"}
# Keys that are no weights of the model: position ids, and the decoder tied to the embeddings.
_SKIPPED = ("embeddings.position_ids", "cls.predictions.decoder.weight", "cls.predictions.decoder.bias")


def is_hf_bert_directory(path):
    """Whether ``path`` is a directory with a Hugging Face ``config.json`` of any model type."""
    config = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config):
        return False
    try:
        with open(config, encoding="utf-8") as f:
            return "model_type" in json.load(f)
    except (OSError, ValueError):
        return False


def read_hf_bert(directory):
    """The ``BertCheckpoint`` of a Hugging Face BERT directory.

    Raises:
        DataError: if the directory's model is not BERT, its weights are only in PyTorch's
            ``pytorch_model.bin`` (or missing), or its arrays do not match its config.
    """
    directory = os.fspath(directory)
    with open(os.path.join(directory, CONFIG_FILE), encoding="utf-8") as f:
        config = json.load(f)
    if config.get("model_type") != "bert":
        raise DataError(f"{directory} holds a {config.get('model_type')!r} model, not BERT: pass a BERT checkpoint")
    activation = config_activation(config, HF_ACTIVATIONS, directory)
    return BertCheckpoint.from_config(
        config,
        directory,
        activation=activation,
        layer_norm_epsilon=float(config.get("layer_norm_eps", 1e-12)),
        weights=_canonical(_read_arrays(directory)),
        lowercase=hf_lowercase(directory),
    )


def hf_weight_names(directory):
    """The weight names of a Hugging Face directory, without reading the arrays."""
    from safetensors import safe_open

    single, index = os.path.join(directory, WEIGHTS_FILE), os.path.join(directory, INDEX_FILE)
    if os.path.exists(index) and not os.path.exists(single):
        with open(index, encoding="utf-8") as f:
            return set(json.load(f)["weight_map"])
    if not os.path.exists(single):
        return set()
    with safe_open(single, framework="numpy") as f:
        return set(f.keys())


def _read_arrays(directory):
    from safetensors.numpy import load_file

    single, index = os.path.join(directory, WEIGHTS_FILE), os.path.join(directory, INDEX_FILE)
    if os.path.exists(single):
        return load_file(single)
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        arrays = {}
        for shard in shards:
            arrays.update(load_file(os.path.join(directory, shard)))
        return arrays
    if os.path.exists(os.path.join(directory, "pytorch_model.bin")):
        raise DataError(
            f"{directory} has its weights only in PyTorch's pytorch_model.bin, which kerapre does not unpickle: "
            "convert it once with transformers, AutoModel.from_pretrained(dir).save_pretrained(dir, "
            "safe_serialization=True), to write model.safetensors"
        )
    raise DataError(f"{directory} has no {WEIGHTS_FILE} or {INDEX_FILE}: pass a complete Hugging Face directory")


def _canonical(arrays):
    """Arrays under Hugging Face's names without the ``bert.`` prefix, layer norms
    ``weight`` / ``bias``."""
    out = {}
    for name, array in arrays.items():
        name = name.removeprefix("bert.")
        if name in _SKIPPED:
            continue
        if ".LayerNorm." in name:
            name = name.replace(".LayerNorm.gamma", ".LayerNorm.weight").replace(".LayerNorm.beta", ".LayerNorm.bias")
        out[name] = array
    return out


def hf_lowercase(directory):
    """``do_lower_case`` of a directory's ``tokenizer_config.json`` (``None`` when absent)."""
    return _tokenizer_setting(directory, "do_lower_case")


def hf_strip_accents(directory):
    """``strip_accents`` of a directory's ``tokenizer_config.json`` (``None`` when absent or
    null: then it follows ``do_lower_case``, as in Hugging Face's ``BertTokenizer``)."""
    return _tokenizer_setting(directory, "strip_accents")


def _tokenizer_setting(directory, key):
    path = os.path.join(directory, TOKENIZER_CONFIG_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        value = json.load(f).get(key)
    return None if value is None else bool(value)
