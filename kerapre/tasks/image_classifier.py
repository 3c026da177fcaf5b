"""A backbone with a new classification head: what fine-tuning trains."""

import keras

from kerapre.tasks.task import BackboneTask


@keras.saving.register_keras_serializable(package="kerapre")
class ImageClassifier(BackboneTask, keras.Model):
    """Puts a new head, Dense(``head_units``, relu) -> Dense(``num_classes``), on a backbone.

    The backbone's trainability is left as it is: freeze it with
    ``backbone.trainable = False`` (or ``kerapre.load_backbone(..., trainable=False)``)
    before compiling.

    Args:
        backbone: a model from images to features, e.g. ``kerapre.load_backbone(path)``.
        num_classes: number of output logits.
        head_units: units of the hidden ReLU layer (0 for a linear head).
        dropout: dropout rate before the output layer.

    Examples:

    ```python
    backbone = kerapre.load_backbone("saved_models/cnn_fashion-backbone/1", trainable=False)
    model = kerapre.tasks.ImageClassifier(backbone, num_classes=10)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ```
    """

    def __init__(self, backbone, num_classes, head_units=128, dropout=0.0, **kwargs):
        # === Layers ===
        self.backbone = backbone
        hidden = keras.layers.Dense(head_units, activation="relu", name="head_dense") if head_units else None
        drop = keras.layers.Dropout(dropout, name="head_dropout") if dropout else None
        logits = keras.layers.Dense(num_classes, name="logits", dtype="float32")

        # === Functional Model ===
        inputs = keras.Input(shape=backbone.input_shape[1:], name="image")
        x = backbone(inputs)
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name="head_flatten")(x)
        if hidden is not None:
            x = hidden(x)
        if drop is not None:
            x = drop(x)
        outputs = logits(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.head_units = head_units
        self.dropout = dropout

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "num_classes": self.num_classes,
            "head_units": self.head_units,
            "dropout": self.dropout,
            "name": self.name,
            "trainable": self.trainable,
        }


def extract_backbone(model, cut=None, name="backbone"):
    """The backbone of a trained model: ``model.backbone`` for a task model that wraps one
    (``ImageClassifier``, ``ContrastivePretrainer``, ``RotationPretrainer``), or the part of
    it up to ``cut``; else ``model`` up to ``cut`` (see ``backbone_of``)."""
    from kerapre.models.cnn import backbone_of

    if isinstance(getattr(model, "backbone", None), keras.Model):
        if cut is None:
            return keras.Model(model.backbone.input, model.backbone.output, name=name)
        model = model.backbone
    return backbone_of(model, cut, name=name)
