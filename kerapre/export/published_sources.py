"""BERT encoders from where others publish them: Hugging Face directories and handles, Google's
original checkpoints, keras-hub presets (by name, handle or directory), TF Hub BERT SavedModels
(``kerapre.export.tf_hub_bert``).

``encoder_and_vocabulary`` and ``pretrainer_and_vocabulary`` take a resolved artefact
(``kerapre.export.resolve``) of one of ``PUBLISHED_KINDS``. Local directories are read by
kerapre (``hf_bert``, ``google_bert``); keras-hub preset names and ``kaggle://`` handles go to
keras-hub's ``from_preset``, which needs the network; ``hf://`` handles are downloaded file by
file with keras-hub's ``get_file`` and read like a local directory, so their ``hidden_act``
and heads are kept.
"""

import os

from kerapre.errors import DataError, first_line
from kerapre.export.bert_checkpoint import encoder_from_checkpoint, pretrainer_from_checkpoint
from kerapre.export.google_bert import google_variable_names, read_google_bert
from kerapre.export.hf_bert import (
    CONFIG_FILE,
    INDEX_FILE,
    TOKENIZER_CONFIG_FILE,
    WEIGHTS_FILE,
    hf_weight_names,
    read_hf_bert,
)
from kerapre.export.published import OFFLINE_CHOICES
from kerapre.export.tf_hub_bert import load_tf_hub_bert
from kerapre.models.bert import BertEncoder

PUBLISHED_KINDS = ("hf_bert", "google_bert", "keras_hub_preset", "preset_handle", "tf_hub_bert")


def read_checkpoint(artifact):
    """The ``BertCheckpoint`` of an ``hf_bert``, ``google_bert`` or ``hf://`` artefact."""
    if artifact.kind == "google_bert":
        return read_google_bert(artifact.path)
    if artifact.kind == "preset_handle":
        return read_hf_bert(_download_hf(artifact.path))
    return read_hf_bert(artifact.path)


def encoder_and_vocabulary(artifact, dropout=None):
    """``(BertEncoder, vocabulary or None, lowercase or None)`` of a published artefact (for
    a TF Hub BERT SavedModel, a model with the encoder's interface: its dropout is its own)."""
    if artifact.kind == "tf_hub_bert":
        encoder = load_tf_hub_bert(artifact.path)
        return encoder, encoder.vocabulary, encoder.lowercase
    overrides = {} if dropout is None else {"dropout": dropout}
    if _reads_itself(artifact):
        checkpoint = read_checkpoint(artifact)
        return encoder_from_checkpoint(checkpoint, **overrides), checkpoint.vocabulary, checkpoint.lowercase
    backbone, tokenizer = _keras_hub_preset(artifact.path)
    vocabulary = list(tokenizer.vocabulary) if tokenizer is not None else None
    lowercase = getattr(tokenizer, "lowercase", None) if tokenizer is not None else None
    return BertEncoder.from_keras_hub(backbone, **overrides), vocabulary, lowercase


def pretrainer_and_vocabulary(artifact, dropout=None, next_sentence=True, log=print):
    """``(BertPretrainer, vocabulary or None)`` to continue pretraining a published encoder:
    its masked-LM head where the checkpoint has one (else a fresh transform over the tied
    token embedding), its next-sentence head where it has one; without one the run is
    masked-LM only, and says so."""
    from kerapre.tasks.bert_pretrainer import BertPretrainer

    overrides = {} if dropout is None else {"dropout": dropout}
    if not _reads_itself(artifact):
        encoder, vocabulary, _ = encoder_and_vocabulary(artifact, dropout)
        if next_sentence:
            log(f"[bert] {artifact.given} has no next-sentence head: pretraining masked-LM only")
        return BertPretrainer(encoder, next_sentence=False), vocabulary
    checkpoint = read_checkpoint(artifact)
    if next_sentence and not checkpoint.has_nsp_head:
        log(f"[bert] {artifact.given} has no next-sentence head: pretraining masked-LM only")
    if not checkpoint.has_mlm_head:
        log(f"[bert] {artifact.given} has no masked-LM head: a fresh transform over its token embedding")
    pretrainer = pretrainer_from_checkpoint(checkpoint, next_sentence=next_sentence and checkpoint.has_nsp_head,
                                            **overrides)
    return pretrainer, checkpoint.vocabulary


def has_next_sentence_head(artifact):
    """Whether a published artefact brings a next-sentence head (names only, no arrays read):
    Hugging Face ``BertForPreTraining`` and Google's checkpoints do; keras-hub presets do not."""
    if artifact.kind == "google_bert":
        return "cls/seq_relationship/output_weights" in google_variable_names(artifact.path)
    if artifact.kind == "hf_bert":
        return any(name.endswith("cls.seq_relationship.weight") for name in hf_weight_names(artifact.path))
    return False


def handle_vocabulary(artifact):
    """The vocabulary (a list of tokens) of a ``preset_handle`` artefact, downloaded."""
    if artifact.path.startswith("hf://"):
        return read_hf_bert(_download_hf(artifact.path)).vocabulary
    _, tokenizer = _keras_hub_preset(artifact.path)
    if tokenizer is None:
        raise DataError(f"{artifact.path} has no tokenizer: pass its vocab.txt (data.vocab)")
    return list(tokenizer.vocabulary)


def _reads_itself(artifact):
    return artifact.kind in ("hf_bert", "google_bert") or (
        artifact.kind == "preset_handle" and artifact.path.startswith("hf://"))


def _keras_hub_preset(preset):
    """keras-hub's ``BertBackbone`` and ``BertTokenizer`` of a preset directory, name or handle."""
    import keras_hub

    try:
        backbone = keras_hub.models.BertBackbone.from_preset(preset)
    except Exception as error:  # keras-hub raises whatever its download client raises
        if os.path.isdir(preset):
            raise DataError(f"{preset} is not a keras-hub BERT preset ({first_line(error)}): pass one written by "
                            "save_to_preset, or a Hugging Face or Google BERT directory") from None
        raise DataError(f"keras-hub could not load the preset {preset} ({first_line(error)}): "
                        f"{OFFLINE_CHOICES}") from None
    try:
        tokenizer = keras_hub.models.BertTokenizer.from_preset(preset)
    except Exception:  # a backbone saved without its tokenizer
        tokenizer = None
    return backbone, tokenizer


def _download_hf(handle):
    """The local directory of an ``hf://`` handle's files, downloaded through keras-hub's cache.

    ``keras_hub.src.utils.preset_utils.get_file`` is private, but it is the download keras-hub's
    own Hugging Face converter uses (no public API fetches one file of a handle)."""
    from keras_hub.src.utils.preset_utils import check_file_exists, get_file

    try:
        config = get_file(handle, CONFIG_FILE)
        for name in ("vocab.txt", TOKENIZER_CONFIG_FILE):
            if check_file_exists(handle, name):
                get_file(handle, name)
        if check_file_exists(handle, WEIGHTS_FILE):
            get_file(handle, WEIGHTS_FILE)
        else:
            import json

            with open(get_file(handle, INDEX_FILE), encoding="utf-8") as f:
                for shard in sorted(set(json.load(f)["weight_map"].values())):
                    get_file(handle, shard)
    except Exception as error:
        raise DataError(f"could not download {handle} ({first_line(error)}): {OFFLINE_CHOICES}") from None
    return os.path.dirname(config)
