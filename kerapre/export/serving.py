"""TF Serving export of an image classifier: raw pixels in, named probabilities out."""

import os

import keras
import tensorflow as tf

from kerapre.errors import ExportError
from kerapre.export.layout import write_metadata


def classification_outputs(logits, label_table):
    """The outputs of every kerapre classification signature, from a batch of logits:
    ``probabilities`` (float32 softmax, whatever the model's dtype policy), ``class_ids``
    (int64 argmax) and ``labels`` (the class names, a string tensor indexed by id)."""
    logits = tf.cast(logits, tf.float32)
    class_ids = tf.argmax(logits, axis=-1)
    return {
        "probabilities": tf.nn.softmax(logits),
        "class_ids": class_ids,
        "labels": tf.gather(label_table, class_ids),
    }


def image_serving_archive(model, label_names=None):
    """An ``ExportArchive`` whose ``serving_default`` maps raw images to predictions.

    Signatures (inputs named ``image``, pixel values 0-255, shape ``[batch, H, W, C]``):

    - ``serving_default``: float32 images → ``probabilities`` (float32 ``[batch, classes]``),
      ``class_ids`` (int64 ``[batch]``) and ``labels`` (string ``[batch]``);
    - ``serving_uint8``: the same from uint8 images (a quarter of the bytes on the wire).

    Args:
        model: a Keras model from images to logits.
        label_names: the class names, in class-id order (default: the ids as strings).
    """
    image_shape = tuple(model.input_shape[1:])
    num_classes = model.output_shape[-1]
    names = list(label_names) if label_names else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise ExportError(f"{len(names)} label names for a model with {num_classes} classes: pass one name per class")

    archive = keras.export.ExportArchive()
    archive.track(model)
    label_table = tf.constant(names)

    def predict(image):
        return classification_outputs(model(image, training=False), label_table)

    archive.add_endpoint(
        "serving_default",
        lambda image: predict(image),
        input_signature=[tf.TensorSpec((None, *image_shape), tf.float32, name="image")],
    )
    archive.add_endpoint(
        "serving_uint8",
        lambda image: predict(tf.cast(image, tf.float32)),
        input_signature=[tf.TensorSpec((None, *image_shape), tf.uint8, name="image")],
    )
    return archive


def write_image_serving(model, directory, metadata, label_names=None):
    """Writes the serving SavedModel and ``assets.extra/kerapre.json`` into ``directory``."""
    image_serving_archive(model, label_names).write_out(directory, verbose=False)
    extra = os.path.join(directory, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    return write_metadata(extra, {**metadata, "format": "serving"})
