"""Accuracy of any trained artefact (run directory, ``.keras`` file, serving export) on a data set."""

import keras
import numpy as np
import tensorflow as tf

from kerapre.data import image_pipeline, load_image_dataset
from kerapre.errors import ExportError
from kerapre.export.resolve import resolve
from kerapre.export.runs import load_image_run

HINT = "pass a run directory, a .keras file or a serving export"


def evaluate(model_path, data=None, split=None, batch_size=256):
    """Classifies every image of ``data[split]`` and returns the accuracy.

    Args:
        model_path: a run directory, a ``.keras`` file, or a TF Serving export (a version
            directory or its parent, meaning the highest version).
        data: the data set name (default: the run's own evaluation data, else ``mnist_5k``).
        split: the split (default: the run's evaluation split, else ``test``).
        batch_size: images per batch.

    Returns:
        ``{"model", "data", "split", "accuracy", "examples"}``.
    """
    predict, image_shape, run_data = _predictor(model_path)
    data = data or (run_data or {}).get("name") or "mnist_5k"
    split = split or (run_data or {}).get("eval_split") or "test"
    ds = image_pipeline(load_image_dataset(data, split), batch_size=batch_size, training=False,
                        image_shape=image_shape)
    correct = examples = 0
    for images, labels in ds:
        class_ids = np.asarray(predict(images))
        correct += int((class_ids == labels.numpy()).sum())
        examples += int(labels.shape[0])
    return {"model": model_path, "data": data, "split": split,
            "accuracy": correct / max(examples, 1), "examples": examples}


def _predictor(path):
    """``(predict(images) -> class ids, image shape, the run's data section or None)``."""
    artifact = resolve(path, hint=HINT).expect(("run", "keras", "serving"), "an image classifier", HINT)
    if artifact.kind == "run":
        model = load_image_run(artifact.path)
        run_data = artifact.record.config.get("data") if artifact.record is not None else None
        return _keras_predict(model), tuple(model.input_shape[1:]), run_data
    if artifact.kind == "keras":
        model = keras.saving.load_model(artifact.path)
        return _keras_predict(model), tuple(model.input_shape[1:]), None
    signature = tf.saved_model.load(artifact.path).signatures.get("serving_default")
    if signature is None or "image" not in signature.structured_input_signature[1]:
        raise ExportError(f"{artifact.path} has no serving_default signature taking 'image': is it a text "
                          "classifier? use `kerapre predict` for text")
    spec = signature.structured_input_signature[1]["image"]
    return (lambda images: signature(image=images)["class_ids"]), tuple(spec.shape[1:]), None


def _keras_predict(model):
    return lambda images: tf.argmax(model(images, training=False), axis=-1)
