"""A backbone-only SavedModel meant for reuse: inference and training endpoints plus its
variables, so ``kerapre.load_backbone`` can fine-tune it frozen or trainable."""

import os

import keras
import tensorflow as tf

from kerapre.export.layout import write_metadata

INFERENCE_ENDPOINT = "serve"
TRAINING_ENDPOINT = "serve_training"


def backbone_archive(backbone):
    """An ``ExportArchive`` with ``serve`` (inference mode) and ``serve_training``
    (``training=True``: dropout on) endpoints from ``image`` to ``features``."""
    image_shape = tuple(backbone.input_shape[1:])
    spec = [tf.TensorSpec((None, *image_shape), tf.float32, name="image")]
    archive = keras.export.ExportArchive()
    archive.track(backbone)
    archive.add_endpoint(
        INFERENCE_ENDPOINT, lambda image: {"features": backbone(image, training=False)}, spec
    )
    archive.add_endpoint(
        TRAINING_ENDPOINT, lambda image: {"features": backbone(image, training=True)}, spec
    )
    return archive


def write_backbone(backbone, directory, metadata):
    """Writes the backbone SavedModel and ``assets.extra/kerapre.json`` into ``directory``."""
    backbone_archive(backbone).write_out(directory, verbose=False)
    extra = os.path.join(directory, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    return write_metadata(
        extra,
        {
            **metadata,
            "format": "backbone",
            "input": {"name": "image", "shape": list(backbone.input_shape), "dtype": "float32"},
            "output": {"name": "features", "shape": list(backbone.output_shape)},
        },
    )
