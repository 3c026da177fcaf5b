"""Reloading an export as a backbone for fine-tuning, frozen or trainable."""

import keras

from kerapre.errors import ExportError
from kerapre.export.backbone import INFERENCE_ENDPOINT, TRAINING_ENDPOINT
from kerapre.export.resolve import KERAS_FILE, resolve
from kerapre.export.saved_model_layer import SavedModelLayer


def load_backbone(path, trainable=False, cut=None, name="backbone"):
    """Loads a pretrained backbone for fine-tuning.

    Args:
        path: a ``.keras`` file (a full model is cut at ``cut``), a backbone SavedModel
            export (``saved_models/<name>-backbone/<version>`` or its parent, which
            means the highest version), or a training run directory (its ``model.keras``).
        trainable: ``False`` freezes every backbone weight; ``True`` fine-tunes them.
        cut: for a full model, the layer where the backbone ends (default: the
            model's own ``cut``, ``flatten`` for the CNNs).
        name: the name of the returned model.

    Returns:
        A ``keras.Model`` from ``image`` to features. Build it inside
        ``strategy.scope()`` when training under a distribution strategy.

    Examples:

    ```python
    backbone = kerapre.load_backbone("saved_models/cnn_fashion-backbone", trainable=False)
    model = kerapre.tasks.ImageClassifier(backbone, num_classes=10)
    ```
    """
    artifact = resolve(path).expect(
        ("keras", "run", "backbone"), "an image backbone",
        "pass a backbone export (saved_models/<name>-backbone), a .keras file or a CNN training run")
    if artifact.kind == "backbone":
        backbone = _backbone_from_saved_model(artifact.path, artifact.metadata, name)
    else:
        keras_file = artifact.path if artifact.kind == "keras" else artifact.file(KERAS_FILE)
        if keras_file is None:
            raise ExportError(f"{artifact.given} holds no {KERAS_FILE} (its backbone was a SavedModel): pass the "
                              "backbone export it was fine-tuned from, or export this run with --format backbone")
        backbone = _backbone_from_keras_file(keras_file, cut, name)
    backbone.trainable = trainable
    return backbone


def _backbone_from_keras_file(path, cut, name):
    from kerapre.tasks.image_classifier import extract_backbone

    # safe_mode stays on: a downloaded .keras file must not run code when loaded.
    model = keras.saving.load_model(path)
    return extract_backbone(model, cut, name=name)


def _backbone_from_saved_model(path, metadata, name):
    layer = SavedModelLayer(
        path,
        call_endpoint=INFERENCE_ENDPOINT,
        call_training_endpoint=TRAINING_ENDPOINT,
        name="saved_model",
    )
    inputs = keras.Input(shape=tuple(metadata["input"]["shape"][1:]), name="image")
    features = layer(inputs)["features"]
    return keras.Model(inputs, features, name=name)
