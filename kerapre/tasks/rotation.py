"""Rotation prediction: a simple self-supervised pretext task for an image backbone
(Gidaris et al. 2018, "Unsupervised representation learning by predicting image rotations")."""

import keras
from keras import ops

from kerapre.tasks.contrastive import images_only, pretext_loss
from kerapre.tasks.task import BackboneTask

NUM_ROTATIONS = 4  # 0, 90, 180 and 270 degrees
ROTATION_MODES = ("random", "all")


def rotate_images(images, k):
    """Rotates every image of ``images [B, H, W, C]`` by ``k`` quarter turns counter-clockwise
    (as ``np.rot90(image, k)``); ``k`` is a Python int."""
    return ops.rot90(images, k=k, axes=(1, 2))


@keras.saving.register_keras_serializable(package="kerapre")
class RotationPretrainer(BackboneTask, keras.Model):
    """Pretrains an image backbone by predicting how far each image was rotated: no labels.

    ``fit`` takes batches of images alone (raw 0-255 pixels, square). Each step rotates the
    images (``rotation_batch``) and trains a 4-way head, Dense(``head_units``, relu) ->
    Dense(4), with sparse cross-entropy; ``rotation_accuracy`` is its accuracy. Compile it
    with an optimizer only: the loss is the task's. Under a ``tf.distribute`` strategy the
    loss is scaled for the global batch, as for ``ContrastivePretrainer``. The backbone is
    then reloaded like any other (``kerapre.load_backbone``).

    Args:
        backbone: a model from raw square images to features.
        head_units: units of the head's hidden ReLU layer (0 for a linear head).
        rotations: ``random`` rotates each image by one quarter-turn count drawn uniformly
            from 0-3; ``all`` trains on all four rotations of every image (a 4x larger batch).

    Examples:

    ```python
    backbone = kerapre.models.backbone_of(kerapre.models.CNN.from_preset("cnn_mnist"))
    model = kerapre.tasks.RotationPretrainer(backbone)
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(images, batch_size=128, epochs=1)  # images only: the targets are made here
    ```
    """

    def __init__(self, backbone, head_units=128, rotations="random", **kwargs):
        image_shape = tuple(backbone.input_shape[1:])
        if rotations not in ROTATION_MODES:
            raise ValueError(f"rotations must be one of {ROTATION_MODES}, got {rotations!r}")
        if image_shape[0] != image_shape[1]:
            raise ValueError(f"rotation prediction needs square images, but the backbone takes {image_shape}")
        # === Layers ===
        self.backbone = backbone
        hidden = keras.layers.Dense(head_units, activation="relu", name="head_dense") if head_units else None
        logits = keras.layers.Dense(NUM_ROTATIONS, name="rotation_logits", dtype="float32")

        # === Functional Model ===
        inputs = keras.Input(shape=image_shape, name="image")
        x = backbone(inputs)
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name="head_flatten")(x)
        if hidden is not None:
            x = hidden(x)
        outputs = logits(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.head_units = head_units
        self.rotations = rotations
        self.seed_generator = keras.random.SeedGenerator()
        self.rotation_accuracy = keras.metrics.SparseCategoricalAccuracy(name="rotation_accuracy")

    def rotation_batch(self, images):
        """``(rotated images, quarter turns int32)``: the inputs and targets of one step.

        ``rotated[i]`` is ``np.rot90(source, k[i])`` of one source image: image ``i`` for
        ``rotations="random"``, image ``i % B`` for ``all`` (then ``k`` is 0 for the first
        B rows, 1 for the next B, ...).
        """
        if self.rotations == "all":
            batch = ops.shape(images)[0]
            rotated = ops.concatenate([rotate_images(images, k) for k in range(NUM_ROTATIONS)], axis=0)
            turns = ops.repeat(ops.arange(NUM_ROTATIONS, dtype="int32"), batch)
            return rotated, turns
        turns = keras.random.randint(ops.shape(images)[:1], 0, NUM_ROTATIONS, seed=self.seed_generator)
        every = ops.stack([rotate_images(images, k) for k in range(NUM_ROTATIONS)], axis=1)
        pick = ops.reshape(ops.one_hot(turns, NUM_ROTATIONS, dtype=every.dtype), (-1, NUM_ROTATIONS, 1, 1, 1))
        return ops.sum(every * pick, axis=1), ops.cast(turns, "int32")

    def train_step(self, data):
        return super().train_step(self.rotation_batch(images_only(data, type(self).__name__)))

    def test_step(self, data):
        return super().test_step(self.rotation_batch(images_only(data, type(self).__name__)))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        self.rotation_accuracy.update_state(y, y_pred)
        return pretext_loss(self, keras.losses.sparse_categorical_crossentropy(y, y_pred, from_logits=True))

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "head_units": self.head_units,
            "rotations": self.rotations,
            "name": self.name,
            "trainable": self.trainable,
        }
