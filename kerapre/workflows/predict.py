"""Answering raw text with a trained classifier: a TF Serving export, a ``.keras`` export or a run."""

import os

import numpy as np

from kerapre.errors import DataError
from kerapre.export.classifiers import load_text_classifier


def predict_text(model_path, texts, second=None):
    """Classifies raw texts (or sentence pairs) with a text classifier.

    Args:
        model_path: a TF Serving export of a text classifier (a version directory or its
            parent, meaning the highest version), its ``.keras`` export, or a
            ``kerapre finetune text`` run directory.
        texts: a list of strings.
        second: for a pair model, the second string of each pair.

    Returns:
        One ``{"text", "label", "class_id", "probabilities"}`` dict per text
        (``probabilities`` maps each label name to its probability).

    Raises:
        ExportError: if ``model_path`` is not a text classifier export or run.
        DataError: if ``texts`` is empty, or pairs are given to a single-text model (or
            the other way round).

    Examples:

    ```python
    predict_text("saved_models/rotten_tomatoes", ["A gripping, moving film."])
    # [{"text": "A gripping, moving film.", "label": "fresh", "class_id": 1, ...}]
    ```
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise DataError("no text to classify: pass one or more strings")
    if second is not None and len(second) != len(texts):
        raise DataError(f"{len(texts)} first texts but {len(second)} second texts: pass one second text per pair")
    path = os.fspath(model_path)
    classify, label_names, pair = load_text_classifier(path)
    if pair != (second is not None):
        raise DataError(
            f"{path} classifies {'sentence pairs: pass --second texts' if pair else 'single texts: drop --second'}"
        )
    return _answers("text", texts, np.asarray(classify(texts, second), dtype=np.float32), label_names)


def _answers(key, inputs, probabilities, label_names):
    """One ``{key: input, "label", "class_id", "probabilities"}`` dict per input."""
    results = []
    for item, row in zip(inputs, probabilities):
        class_id = int(row.argmax())
        results.append({
            key: item,
            "label": label_names[class_id],
            "class_id": class_id,
            "probabilities": {name: round(float(p), 6) for name, p in zip(label_names, row)},
        })
    return results


def predict_images(model_path, paths, resize=False):
    """Classifies image files (PNG, JPEG, BMP, GIF) with an image classifier.

    Each image is decoded, converted to the model's channels (as ``data.resize`` and the
    channel rule of ``kerapre.data.image_folder`` say) and, with ``resize``, resized to its
    input size.

    Args:
        model_path: an image classifier's run directory, ``.keras`` file or serving export.
        paths: image files.
        resize: resize images of another size to the model's (else they are refused).

    Returns:
        One ``{"file", "label", "class_id", "probabilities"}`` dict per image.

    Raises:
        DataError: if no file is given, a file cannot be decoded, or an image has another
            size than the model's without ``resize``.

    Examples:

    ```python
    predict_images("runs/finetune", ["digit.png"])  # [{"file": "digit.png", "label": "7", ...}]
    ```
    """
    import tensorflow as tf

    from kerapre.data.image_folder import decode_image_file
    from kerapre.data.image_pipeline import conform_images
    from kerapre.export.classifiers import load_image_classifier

    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise DataError("no image to classify: pass one or more image files")
    classify, image_shape, label_names, _ = load_image_classifier(model_path)
    images = []
    for path in paths:
        if not os.path.isfile(path):
            raise DataError(f"no such file: {path}")
        image = decode_image_file(path, image_shape[-1])
        ds = conform_images(tf.data.Dataset.from_tensors(image), image_shape, resize=resize, resize_key="--resize")
        images.append(next(iter(ds)))
    probabilities = np.asarray(classify(tf.cast(tf.stack(images), tf.float32)), dtype=np.float32)
    return _answers("file", paths, probabilities, list(label_names or [str(i) for i in range(probabilities.shape[1])]))
