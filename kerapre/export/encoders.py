"""BERT encoders from every place kerapre keeps them, with the vocabulary that goes with them.

``load_encoder`` takes a BERT pretraining run (or its checkpoint), a ``.keras`` file, a
``finetune text`` run, a TF Hub export or a keras-hub preset directory (what the path holds
is named by ``kerapre.export.resolve``); ``build_pretrainer`` is the ``BertPretrainer`` a
pretraining config describes, fresh or continued from ``model.init``.
"""

import os

import keras

from kerapre.data.vocab import VOCAB_FILENAME, load_vocabulary
from kerapre.errors import DataError
from kerapre.export.hub_reload import load_hub_encoder
from kerapre.export.published_sources import (
    PUBLISHED_KINDS,
    encoder_and_vocabulary,
    handle_vocabulary,
    pretrainer_and_vocabulary,
)
from kerapre.export.resolve import resolve
from kerapre.models.bert import BertEncoder
from kerapre.run_record import CHECKPOINTS_DIR, LATEST_CHECKPOINT, MODEL_FILE, PRETRAINER_FILE, WEIGHTS_FILE
from kerapre.tasks.bert_pretrainer import BertPretrainer
from kerapre.tasks.text_classifier import TextClassifier

VOCAB_FILE = VOCAB_FILENAME
ENCODER_KINDS = ("run", "checkpoint", "keras", "hub", *PUBLISHED_KINDS)
# A SavedModel has no masked-LM head to go on with: continue from checkpoints only.
INIT_KINDS = (*(kind for kind in PUBLISHED_KINDS if kind != "tf_hub_bert"), "run", "keras")
INIT_HINT = ("pass a published encoder (minilm_l6, a Hugging Face or Google BERT directory, a keras-hub preset) "
             "or a kerapre BERT run (model.init)")
ENCODER_HINT = ("pass a BERT pretraining run, a .keras or TF Hub export, a training checkpoint, a published encoder "
                "(minilm_l6, a Hugging Face or Google BERT directory, a TF Hub BERT SavedModel, a keras-hub preset), "
                "or scratch")


def text_casing(backbone, lowercase=None, log=print, prefix="[kerapre]", key="data.lowercase"):
    """How text fed to an encoder is normalised: ``(lowercase, strip_accents)``.

    Args:
        backbone: the resolved ``Artifact`` of the encoder, or ``None`` for a fresh one.
        lowercase: an explicit setting (``data.lowercase``), or ``None`` to follow the
            backbone: what it records (a run's or export's record, ``do_lower_case``, a
            Google directory's name), else true (kerapre's learned vocabularies are uncased).
        log, prefix, key: where the warning goes when ``lowercase`` contradicts the record (the
            setting wins), and the setting's name in it.

    Returns:
        ``lowercase``, and ``strip_accents``: the backbone's own (a Hugging Face
        ``strip_accents``, or what a kerapre run or export recorded) while the casing agrees
        with it, else ``None`` (as ``lowercase``, BERT's rule).
    """
    recorded = backbone.lowercase if backbone is not None else None
    strip_accents = backbone.strip_accents if backbone is not None else None
    if lowercase is None:
        return (True if recorded is None else bool(recorded)), strip_accents
    if recorded is not None and bool(recorded) != lowercase:
        log(f"{prefix} warning: {key}={str(lowercase).lower()} but {backbone.given} is "
            f"{'uncased' if recorded else 'cased'}: its vocabulary will meet text it was not trained on")
        return lowercase, None
    return lowercase, strip_accents


def build_pretrainer(config, vocabulary_size, log=print):
    """The ``BertPretrainer`` of a config, from scratch or from ``model.init`` (a published
    checkpoint brings its masked-LM and next-sentence heads where it has them)."""
    init = config.model.init
    if init:
        artifact = resolve(init, hint=INIT_HINT).expect(INIT_KINDS, "a BERT encoder to continue from", INIT_HINT)
        if artifact.kind in PUBLISHED_KINDS:
            pretrainer, _ = pretrainer_and_vocabulary(artifact, dropout=config.model.dropout,
                                                      next_sentence=config.model.next_sentence, log=log)
            encoder = pretrainer.encoder
        else:
            encoder = load_encoder_for_init(init, dropout=config.model.dropout)
            pretrainer = None
        if encoder.vocabulary_size != vocabulary_size:
            raise DataError(
                f"vocabulary mismatch: {init} has {encoder.vocabulary_size} token embeddings but the vocabulary "
                f"has {vocabulary_size}: pass the vocab.txt it was trained with (data.vocab)"
            )
        return pretrainer or BertPretrainer(encoder, next_sentence=config.model.next_sentence)
    encoder = BertEncoder.from_preset(
        config.model.preset,
        vocabulary_size=vocabulary_size,
        dropout=config.model.dropout,
        max_sequence_length=max(512, config.data.seq_length),
    )
    return BertPretrainer(encoder, next_sentence=config.model.next_sentence)


def init_vocabulary_path(init):
    """The vocabulary that goes with ``model.init`` weights, if it has one: a ``vocab.txt``
    beside them, or the token list of a keras-hub handle's tokenizer."""
    if not init:
        return None
    artifact = resolve(init, hint=INIT_HINT)
    if artifact.kind == "preset_handle":
        return handle_vocabulary(artifact)
    for candidate in (os.path.join(artifact.directory, VOCAB_FILE),
                      os.path.join(artifact.directory, "assets", "tokenizer", "vocabulary.txt")):
        if os.path.exists(candidate):
            return candidate
    return None


def load_encoder_for_init(init, dropout=None):
    """A ``BertEncoder`` with the weights at ``init``: a published checkpoint (Hugging Face,
    Google, keras-hub preset or handle, ``minilm_l6``), a kerapre BERT run directory or a
    ``pretrainer.keras`` file."""
    artifact = resolve(init, hint=INIT_HINT).expect(INIT_KINDS, "a BERT encoder to continue from", INIT_HINT)
    if artifact.kind in PUBLISHED_KINDS:
        return encoder_and_vocabulary(artifact, dropout)[0]
    file = artifact.path if artifact.kind == "keras" else artifact.file(PRETRAINER_FILE)
    if file is None:
        raise DataError(f"{init} holds neither a published checkpoint nor {PRETRAINER_FILE}: "
                        "pass a published encoder or a finished kerapre BERT run")
    return keras.saving.load_model(file).encoder


def load_encoder(path, trainable=True, vocab=None):
    """Loads a pretrained BERT encoder and the vocabulary it was trained with.

    Args:
        path: any of
            - a kerapre BERT pretraining run directory (its ``pretrainer.keras``, or its
              latest training checkpoint ``checkpoints/latest.weights.h5`` if the run
              was stopped before the end), or such a checkpoint file;
            - a ``.keras`` file (or ``kerapre export --format keras`` directory) holding a
              ``BertPretrainer``, a ``BertEncoder`` or a ``TextClassifier`` (its encoder);
            - a ``kerapre finetune text`` run directory (its classifier's encoder);
            - a TF Hub export (``saved_models/<name>-hub``, a version of it, or its
              ``encoder/``), reloaded as a SavedModel layer that trains with AdamW and
              honours ``training=True``;
            - a published encoder: ``minilm_l6``, a Hugging Face BERT directory or
              ``hf://`` handle, Google's original checkpoint, a keras-hub preset (name,
              handle or directory), or a TF Hub BERT SavedModel (Google's
              ``bert_en_uncased_L-*``, a Model Garden export, or its ``https://tfhub.dev/``
              handle), called with ``training`` passed through.
        trainable: ``False`` freezes the encoder's weights.
        vocab: a ``vocab.txt`` to use instead of the one that comes with the weights.

    Returns:
        ``(encoder, vocabulary)``: a model with the ``BertEncoder`` inputs and outputs, and
        its list of tokens.

    Raises:
        DataError: if ``path`` does not exist or holds no BERT encoder, the vocabulary is
            missing, or its size differs from the encoder's token embeddings.

    Examples:

    ```python
    encoder, vocab = load_encoder("runs/bert_pretrain", trainable=False)
    encoder, vocab = load_encoder("saved_models/bert_tiny-hub", trainable=True)
    model = kerapre.tasks.TextClassifier(encoder, num_classes=2)
    ```
    """
    artifact = resolve(path, hint=ENCODER_HINT)
    if artifact.kind == "serving":
        base = os.path.dirname(os.path.normpath(artifact.path))
        raise DataError(
            f"{path} is a TF Serving export (classification signatures, no encoder): reload the encoder from "
            f"the same model's hub or keras export ({base}-hub or {base}-keras)"
        )
    artifact.expect(
        ENCODER_KINDS, "a BERT encoder",
        "pass a BERT pretraining run, a .keras or TF Hub export, a finetune text run, a checkpoint or a keras-hub preset")
    encoder, found_vocab = _load_any_encoder(artifact)
    if vocab:
        tokens = load_vocabulary(vocab)
    elif found_vocab is not None:
        tokens = found_vocab
    else:
        raise DataError(f"no {VOCAB_FILENAME} beside {path}: pass the vocabulary the encoder was pretrained with")
    size = _vocabulary_size(encoder)
    if len(tokens) != size:
        raise DataError(
            f"vocabulary mismatch: {vocab or path} has {len(tokens)} tokens but the encoder at {path} has "
            f"{size} token embeddings: pass the vocab.txt it was pretrained with"
        )
    encoder.trainable = trainable
    return encoder, tokens


def _load_any_encoder(artifact):
    """``(encoder, vocabulary or None)`` of a resolved artefact."""
    if artifact.kind == "checkpoint":
        return _encoder_from_checkpoint(artifact.path)
    if artifact.kind in PUBLISHED_KINDS:
        encoder, vocabulary, _ = encoder_and_vocabulary(artifact)
        return encoder, vocabulary if vocabulary is not None else _vocab_beside(artifact.path)
    if artifact.kind == "hub":
        encoder = load_hub_encoder(artifact.path, trainable=True)
        return encoder, encoder.vocabulary
    if artifact.kind == "keras":
        return _encoder_from_keras_file(artifact.path)
    for name in (PRETRAINER_FILE, MODEL_FILE):  # a run
        if artifact.file(name):
            return _encoder_from_keras_file(artifact.file(name))
    if artifact.record is not None and artifact.record.task == "finetune_text" and artifact.file(WEIGHTS_FILE):
        from kerapre.export.runs import load_text_run

        model, _, _ = load_text_run(artifact.path)  # a classifier on a SavedModel encoder
        return model.backbone, load_vocabulary(os.path.join(artifact.path, VOCAB_FILENAME))
    checkpoint = os.path.join(artifact.path, CHECKPOINTS_DIR, LATEST_CHECKPOINT)
    if os.path.exists(checkpoint):
        return _encoder_from_checkpoint(checkpoint)
    raise DataError(
        f"{artifact.describe()} holds no BERT encoder ({PRETRAINER_FILE}, {MODEL_FILE} or a checkpoint): "
        "pass a BERT pretraining or text fine-tuning run, an export or a checkpoint"
    )


def _encoder_from_keras_file(file):
    loaded = keras.saving.load_model(file, compile=False)
    if isinstance(loaded, BertPretrainer):
        encoder = loaded.encoder
    elif isinstance(loaded, TextClassifier):
        encoder = loaded.backbone
    else:
        encoder = loaded
    if not isinstance(encoder, BertEncoder):
        raise DataError(
            f"{file} holds a {type(loaded).__name__}, not a BERT encoder: pass a BERT pretraining run's "
            f"{PRETRAINER_FILE}, a text classifier or an encoder"
        )
    return encoder, _vocab_beside(file)


def _encoder_from_checkpoint(checkpoint):
    """The encoder of a pretraining run's weights checkpoint, rebuilt from the run's config."""
    from kerapre.config import BertPretrainConfig, load_config

    run_dir = os.path.dirname(os.path.dirname(os.path.abspath(checkpoint)))
    config_file = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(config_file):
        raise DataError(f"no config.yaml in {run_dir}: a checkpoint loads only inside its BERT pretraining run")
    config = load_config(BertPretrainConfig, config_file)
    config.model.init = None  # the checkpoint holds every weight
    tokens = _vocab_beside(run_dir)
    if tokens is None:
        raise DataError(f"no {VOCAB_FILENAME} in {run_dir}: a checkpoint needs its run's vocabulary")
    pretrainer = build_pretrainer(config, len(tokens))
    pretrainer.load_weights(checkpoint)
    return pretrainer.encoder, tokens


def _vocab_beside(path):
    vocab = init_vocabulary_path(path)
    return load_vocabulary(vocab) if isinstance(vocab, str) else vocab


def _vocabulary_size(encoder):
    size = getattr(encoder, "vocabulary_size", None)  # a BertEncoder
    return size if size is not None else len(encoder.vocabulary)  # a TF Hub export's
