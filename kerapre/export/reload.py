"""Reloading an export as a backbone for fine-tuning, frozen or trainable."""

import keras

from kerapre.errors import ExportError
from kerapre.export.backbone import INFERENCE_ENDPOINT, TRAINING_ENDPOINT
from kerapre.export.resolve import KERAS_FILE, resolve


@keras.saving.register_keras_serializable(package="kerapre")
class SavedModelLayer(keras.layers.TFSMLayer):
    """``keras.layers.TFSMLayer`` that trains with Adam and AdamW.

    Workaround, keras 3.15 (``keras/src/export/tfsm_layer.py``, ``_add_existing_weight``):
    stock TFSMLayer names its weights after the SavedModel variables with ``/``
    replaced but ``:0`` kept, and Adam's slot variables (``<name>_momentum``) then fail
    with "'...:0_momentum' is not a valid scope name". Dropping ``:`` as well fixes it;
    ``tests/test_reload.py`` fails the day the upstream layer no longer needs this.
    """

    def _add_existing_weight(self, weight):
        variable = keras.Variable(
            initializer=weight,
            trainable=weight.trainable,
            dtype=weight.dtype,
            shape=weight.shape,
            name=weight.name.replace("/", "_").replace(":", "_"),
        )
        self._track_variable(variable)


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
