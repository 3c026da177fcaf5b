"""SimCLR: contrastive self-supervised pretraining of an image backbone, without labels.

Two random views of every image go through the backbone and a projection head; the
NT-Xent loss pulls the two projections of an image together and pushes them away from
the projections of every other image in the batch.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from kerapre.errors import DataError
from kerapre.tasks.task import BackboneTask

# Masks an anchor's similarity with itself out of the softmax (exp(-1e9) is 0 in float32).
_SELF_LOGIT = -1e9


def nt_xent_logits(z1, z2, temperature):
    """The logits and targets of the NT-Xent loss (SimCLR, Chen et al. 2020, eq. 1).

    Row ``i`` of the ``[2N, 2N]`` logits holds the cosine similarity of projection ``i`` of
    ``concat([z1, z2])`` with every other projection, divided by ``temperature``; its own
    entry is masked out, so each row is a ``2N - 1``-way classification whose target is the
    other view of the same image.

    Args:
        z1: ``[N, D]`` projections of the first views.
        z2: ``[N, D]`` projections of the second views (row ``i`` is the same image as ``z1[i]``).
        temperature: the softmax temperature.

    Returns:
        ``(logits float32 [2N, 2N], targets int32 [2N])``.
    """
    z = ops.cast(ops.concatenate([z1, z2], axis=0), "float32")
    z = ops.normalize(z, axis=-1)
    logits = ops.matmul(z, ops.transpose(z)) / temperature
    n = ops.shape(z1)[0]
    logits = ops.where(ops.eye(2 * n, dtype="bool"), _SELF_LOGIT, logits)
    targets = ops.concatenate([ops.arange(n, 2 * n), ops.arange(0, n)])
    return logits, ops.cast(targets, "int32")


def nt_xent_loss(z1, z2, temperature=0.1):
    """The NT-Xent (normalized temperature-scaled cross-entropy) loss of two batches of views.

    The mean over all ``2N`` anchors of ``-log(exp(sim(i, j) / t) / sum_{k != i} exp(sim(i, k) / t))``
    where ``j`` is the other view of anchor ``i``'s image and ``sim`` is cosine similarity.
    Every other image's two views are negatives (``2N - 2`` per anchor); the keras-io SimCLR
    example compares across views only (``N - 1`` negatives).

    Args:
        z1: ``[N, D]`` projections of the first views.
        z2: ``[N, D]`` projections of the second views.
        temperature: the softmax temperature (SimCLR: 0.1 to 0.5).

    Returns:
        A float32 scalar.

    Examples:

    ```python
    z1, z2 = np.random.rand(4, 8), np.random.rand(4, 8)
    nt_xent_loss(z1, z2, temperature=0.5)
    ```
    """
    logits, targets = nt_xent_logits(z1, z2, temperature)
    return ops.mean(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))


def simclr_augmenter(image_shape, crop_area=0.5, translation=0.15, noise=0.05, contrast=0.4, flip=False,
                     name="augmenter"):
    """The random view maker of SimCLR, as Keras preprocessing layers on raw 0-255 pixels.

    Random crop-and-resize (``RandomZoom`` zooming in, as in the keras-io example), a
    random shift, a random contrast change and Gaussian noise, then clipping back to
    0-255. A strength of 0 leaves its layer out. Every layer runs in float32, whatever the
    global dtype policy, and only when called with ``training=True``.

    Args:
        image_shape: ``(height, width, channels)``.
        crop_area: smallest fraction of the image area a crop keeps (1: no cropping).
        translation: largest shift, as a fraction of the height and of the width.
        noise: standard deviation of the Gaussian noise, on a 0-1 pixel scale.
        contrast: contrast factor range: a factor is drawn from ``[1 - contrast, 1 + contrast]``.
        flip: also flip left-right at random (not for digits).
        name: the name of the returned model.

    Returns:
        A ``keras.Sequential`` from images ``[B, H, W, C]`` (0-255) to images of the same
        shape (0-255, float32).

    Examples:

    ```python
    augment = simclr_augmenter((28, 28, 1))
    view = augment(images, training=True)
    ```
    """
    as_float = dict(dtype="float32")
    zoom = 1.0 - math.sqrt(crop_area)
    layers = [keras.Input(shape=tuple(image_shape)), keras.layers.Rescaling(1 / 255, name="to_unit", **as_float)]
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", name="flip", **as_float))
    if zoom > 0:
        layers.append(keras.layers.RandomZoom((-zoom, 0.0), (-zoom, 0.0), name="crop_and_resize", **as_float))
    if translation > 0:
        layers.append(
            keras.layers.RandomTranslation(translation, translation, fill_mode="constant", name="translate", **as_float)
        )
    if contrast > 0:
        layers.append(keras.layers.RandomContrast(contrast, value_range=(0, 1), name="contrast", **as_float))
    if noise > 0:
        layers.append(keras.layers.GaussianNoise(noise, name="noise", **as_float))
    layers += [
        keras.layers.ReLU(max_value=1.0, name="clip", **as_float),  # back into [0, 1]
        keras.layers.Rescaling(255.0, name="to_pixels", **as_float),
    ]
    return keras.Sequential(layers, name=name)


def images_only(data, who):
    """The images of a training batch; a ``DataError`` if the batch holds labels or weights."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if y is not None or sample_weight is not None:
        raise DataError(
            f"{who} learns from images alone, but its data also holds labels or sample weights: "
            "pass a data set of images (e.g. ds.map(lambda image, label: image))"
        )
    return x


def pretext_loss(model, per_example_loss):
    """The mean of ``per_example_loss`` plus the model's weight regularisers (those of the
    backbone, if any), as this replica's share of the global batch loss."""
    loss = ops.mean(per_example_loss)
    for extra in model.losses:
        loss = loss + ops.cast(ops.sum(extra), loss.dtype)
    return share_of_global_batch(loss)


def share_of_global_batch(loss):
    """``loss`` (a mean over this replica's examples) divided by the replicas in sync, as
    ``model.fit`` expects from ``compute_loss``: the optimizer sums the replicas' gradients."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


@keras.saving.register_keras_serializable(package="kerapre")
class ContrastivePretrainer(BackboneTask, keras.Model):
    """SimCLR pretraining of an image backbone: no labels, two augmented views per image.

    ``fit`` takes batches of images alone (raw 0-255 pixels). Each step draws two views of
    every image with ``augmenter``, passes both through the backbone and a two-layer
    projection head (Dense ``projection_dim`` relu -> Dense ``projection_dim``), and
    minimises ``nt_xent_loss`` at ``temperature``. ``contrastive_accuracy`` is how often a
    view's nearest projection is its partner's.

    Under a ``tf.distribute`` strategy each replica contrasts its own images only: an
    anchor has ``2 * per-replica batch - 2`` negatives, whatever the number of replicas,
    and the loss is scaled so that the summed gradients are those of the mean loss over
    the global batch.

    The backbone keeps its weights and its trainability; ``kerapre.load_backbone`` and
    ``kerapre.export`` take it out of a saved ``ContrastivePretrainer``.

    Args:
        backbone: a model from raw images to features, e.g. ``kerapre.models.backbone_of(cnn)``.
        projection_dim: width of the projection head's two layers.
        temperature: the NT-Xent temperature.
        crop_area: smallest area fraction of a random crop (see ``simclr_augmenter``).
        translation: largest random shift, as a fraction of the image size.
        noise: Gaussian noise standard deviation on a 0-1 pixel scale.
        contrast: random contrast factor range.
        flip: random left-right flips.

    Examples:

    ```python
    backbone = kerapre.models.backbone_of(kerapre.models.CNN.from_preset("cnn_mnist"))
    model = kerapre.tasks.ContrastivePretrainer(backbone, projection_dim=128, temperature=0.1)
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(images, batch_size=128, epochs=1)  # images only: no labels
    ```
    """

    def __init__(
        self,
        backbone,
        projection_dim=128,
        temperature=0.1,
        crop_area=0.5,
        translation=0.15,
        noise=0.05,
        contrast=0.4,
        flip=False,
        **kwargs,
    ):
        image_shape = tuple(backbone.input_shape[1:])
        # === Layers ===
        self.backbone = backbone
        self.augmenter = simclr_augmenter(image_shape, crop_area, translation, noise, contrast, flip)
        hidden = keras.layers.Dense(projection_dim, activation="relu", name="projection_hidden")
        # Projections stay float32 under a mixed-precision policy: NT-Xent divides by 0.1.
        projection = keras.layers.Dense(projection_dim, name="projection", dtype="float32")

        # === Functional Model ===
        inputs = keras.Input(shape=image_shape, name="image")
        x = backbone(inputs)
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name="head_flatten")(x)
        outputs = projection(hidden(x))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.projection_dim = projection_dim
        self.temperature = temperature
        self.crop_area = crop_area
        self.translation = translation
        self.noise = noise
        self.contrast = contrast
        self.flip = flip
        self.contrastive_accuracy = keras.metrics.SparseCategoricalAccuracy(name="contrastive_accuracy")

    def views(self, images):
        """Two random views of each image, stacked: ``[2B, H, W, C]``, the first B rows one
        view of each image, the last B the other."""
        return ops.concatenate(
            [self.augmenter(images, training=True), self.augmenter(images, training=True)], axis=0
        )

    def train_step(self, data):
        return super().train_step(self.views(images_only(data, type(self).__name__)))

    def test_step(self, data):
        return super().test_step(self.views(images_only(data, type(self).__name__)))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        z1, z2 = ops.split(y_pred, 2, axis=0)
        logits, targets = nt_xent_logits(z1, z2, self.temperature)
        self.contrastive_accuracy.update_state(targets, logits)
        return pretext_loss(self, keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "projection_dim": self.projection_dim,
            "temperature": self.temperature,
            "crop_area": self.crop_area,
            "translation": self.translation,
            "noise": self.noise,
            "contrast": self.contrast,
            "flip": self.flip,
            "name": self.name,
            "trainable": self.trainable,
        }
