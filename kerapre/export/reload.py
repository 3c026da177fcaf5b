"""Reloading an export as a backbone for fine-tuning, frozen or trainable."""

import os

import keras

from kerapre.errors import ExportError
from kerapre.export.backbone import INFERENCE_ENDPOINT, TRAINING_ENDPOINT
from kerapre.export.layout import latest_version_dir, read_metadata


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
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ExportError(f"{path} does not exist: pass a .keras file, an export directory or a run directory")
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "model.keras")):
        path = os.path.join(path, "model.keras")
    if path.endswith(".keras"):
        backbone = _backbone_from_keras_file(path, cut, name)
    else:
        backbone = _backbone_from_saved_model(latest_version_dir(path), name)
    backbone.trainable = trainable
    return backbone


def _backbone_from_keras_file(path, cut, name):
    from kerapre.tasks.image_classifier import extract_backbone

    # safe_mode stays on: a downloaded .keras file must not run code when loaded.
    model = keras.saving.load_model(path)
    return extract_backbone(model, cut, name=name)


def _backbone_from_saved_model(path, name):
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise ExportError(f"{path} holds no saved_model.pb: pass an export version directory")
    metadata = read_metadata(path) or {}
    if metadata.get("format") != "backbone":
        raise ExportError(
            f"{path} is not a kerapre backbone export (format {metadata.get('format')!r}): "
            "export one with `kerapre export --format backbone` or pass the run's model.keras"
        )
    layer = SavedModelLayer(
        path,
        call_endpoint=INFERENCE_ENDPOINT,
        call_training_endpoint=TRAINING_ENDPOINT,
        name="saved_model",
    )
    inputs = keras.Input(shape=tuple(metadata["input"]["shape"][1:]), name="image")
    features = layer(inputs)["features"]
    return keras.Model(inputs, features, name=name)
