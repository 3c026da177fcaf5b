"""The trained model of a run directory, for export, evaluation and prediction.

A run keeps ``model.keras``; a model over a reloaded SavedModel (a TF Hub or backbone
export) keeps ``model.weights.h5`` instead, and is rebuilt here from the run's config.
"""

import os

import keras

from kerapre.config import FinetuneConfig, FinetuneTextConfig, from_dict
from kerapre.config.cnn import SCRATCH
from kerapre.data.text_preprocessor import BertTextPreprocessor
from kerapre.data.vocab import VOCAB_FILENAME, load_vocabulary
from kerapre.errors import ArtifactError, DataError
from kerapre.export.encoders import load_encoder
from kerapre.export.reload import load_backbone
from kerapre.export.resolve import resolve
from kerapre.models.cnn import CNN
from kerapre.run_record import MODEL_FILE, WEIGHTS_FILE
from kerapre.tasks.image_classifier import ImageClassifier, extract_backbone
from kerapre.tasks.text_classifier import TextClassifier

RUN_HINT = "pass the directory a training command wrote (e.g. runs/cnn_finetune)"


def build_image_classifier(config, num_classes, trainable=None):
    """The ``ImageClassifier`` a ``FinetuneConfig`` describes (call inside ``strategy.scope()``).

    Args:
        config: a ``FinetuneConfig`` whose ``backbone`` is a path or ``scratch``.
        num_classes: classes of the target task.
        trainable: overrides ``config.trainable`` (used by the two-phase schedule).
    """
    trainable = config.trainable if trainable is None else trainable
    if config.backbone == SCRATCH:
        fresh = CNN.from_preset(config.model.preset, num_classes=num_classes, cut=config.model.cut)
        backbone = extract_backbone(fresh, config.model.cut)
        backbone.trainable = trainable
    else:
        backbone = load_backbone(config.backbone, trainable=trainable, cut=config.model.cut)
    return ImageClassifier(backbone, num_classes, head_units=config.head.units, dropout=config.head.dropout)


def load_image_run(model_dir):
    """The trained image model of a run directory: ``model.keras``, or the classifier of a
    ``finetune_image`` run rebuilt from ``run.json`` and ``model.weights.h5``."""
    artifact = resolve(model_dir, hint=RUN_HINT).expect(("run",), "a training run", RUN_HINT)
    if artifact.file(MODEL_FILE):
        return keras.saving.load_model(artifact.file(MODEL_FILE))
    record = artifact.record
    if record is None or record.task != "finetune_image" or not artifact.file(WEIGHTS_FILE):
        raise ArtifactError(f"{artifact.describe()} holds no {MODEL_FILE}: pass a run that finished")
    model = build_image_classifier(from_dict(FinetuneConfig, record.config), len(record.label_names))
    model.load_weights(artifact.file(WEIGHTS_FILE))
    return model


def load_text_run(model_dir):
    """The classifier, preprocessor and run record of a ``finetune_text`` run directory.

    The classifier comes from ``model.keras``, or, when its encoder was a SavedModel (a
    TF Hub export), is rebuilt from the run's config and ``model.weights.h5``. The
    preprocessor is the classifier's own; a classifier saved without one (kerapre 0.1) gets
    one built from the run's ``vocab.txt``, sequence length and casing.

    Returns:
        ``(model, preprocessor, record)``: a ``RunRecord``, whose ``pair`` says whether the classifier
        takes sentence pairs (false for runs that predate it).
    """
    artifact = resolve(model_dir, hint=RUN_HINT).expect(("run",), "a finetune_text run", RUN_HINT)
    record = artifact.record
    if record is None or record.task != "finetune_text":
        raise DataError(f"{model_dir} is {artifact.describe()}, not a finetune_text run")
    vocab_file = os.path.join(artifact.path, VOCAB_FILENAME)
    if artifact.file(MODEL_FILE):
        model = keras.saving.load_model(artifact.file(MODEL_FILE))
    else:
        config = from_dict(FinetuneTextConfig, record.config)
        encoder, _ = load_encoder(config.backbone, trainable=config.trainable, vocab=vocab_file)
        model = TextClassifier(encoder, len(record.label_names), dropout=config.head.dropout,
                               pooling=config.head.pooling)
        model.load_weights(artifact.file(WEIGHTS_FILE))
    if model.preprocessor is None:
        lowercase = True if record.lowercase is None else record.lowercase
        model.preprocessor = BertTextPreprocessor(load_vocabulary(vocab_file), sequence_length=record.sequence_length,
                                                  lowercase=lowercase)
    return model, model.preprocessor, record


def run_label_names(model_dir):
    """The class names a run records (``None`` if it records none)."""
    return resolve(model_dir, hint=RUN_HINT).label_names
