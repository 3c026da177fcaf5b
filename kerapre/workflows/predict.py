"""Answering raw text with a trained classifier: a TF Serving export, a ``.keras`` export or a run."""

import os

import numpy as np

from kerapre.errors import DataError, ExportError
from kerapre.export.layout import latest_version_dir, read_metadata
from kerapre.run_record import has_run_record


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
    if not os.path.exists(path):
        raise ExportError(f"{path} does not exist: pass a text classifier's serving export, .keras export or run")
    classify, label_names, pair = _classifier(path)
    if pair != (second is not None):
        raise DataError(
            f"{path} classifies {'sentence pairs: pass --second texts' if pair else 'single texts: drop --second'}"
        )
    probabilities = np.asarray(classify(texts, second), dtype=np.float32)
    results = []
    for text, row in zip(texts, probabilities):
        class_id = int(row.argmax())
        results.append({
            "text": text,
            "label": label_names[class_id],
            "class_id": class_id,
            "probabilities": {name: round(float(p), 6) for name, p in zip(label_names, row)},
        })
    return results


def _classifier(path):
    """``(classify(texts, second) -> probabilities, label names, pair)`` for any kind of path."""
    if os.path.isdir(path) and has_run_record(path):
        from kerapre.export.encoders import load_text_run

        try:
            model, preprocessor, record = load_text_run(path)
        except DataError as error:  # another kind of run
            raise ExportError(str(error)) from None
        label_names = _label_names(record.to_dict(), path, model.num_classes)
        return _keras_classify(model, preprocessor, record.pair), label_names, record.pair
    if path.endswith(".keras") or (os.path.isdir(path) and os.path.exists(os.path.join(path, "model.keras"))):
        file = path if path.endswith(".keras") else os.path.join(path, "model.keras")
        return _keras_classifier(file, read_metadata(file) or {})
    export_dir = latest_version_dir(path)
    if not os.path.exists(os.path.join(export_dir, "saved_model.pb")):
        raise ExportError(f"{path} is not a serving export, .keras export or run directory of a text classifier")
    return _serving_classifier(export_dir)


def _serving_classifier(export_dir):
    import tensorflow as tf

    metadata = read_metadata(export_dir) or {}
    if metadata.get("task") != "text_classification":
        raise ExportError(
            f"{export_dir} is not a text classifier's serving export (task {metadata.get('task')!r}): "
            "use `kerapre evaluate` for image models"
        )
    signature = tf.saved_model.load(export_dir).signatures["serving_default"]
    pair = bool(metadata.get("pair"))

    def classify(texts, second):
        if pair:
            return signature(first=tf.constant(texts), second=tf.constant(second))["probabilities"].numpy()
        return signature(text=tf.constant(texts))["probabilities"].numpy()

    return classify, _label_names(metadata, export_dir), pair


def _keras_classifier(file, record):
    import keras

    from kerapre.data.text_preprocessor import BertTextPreprocessor
    from kerapre.data.vocab import VOCAB_FILENAME
    from kerapre.tasks.text_classifier import TextClassifier

    if not os.path.exists(file):
        raise ExportError(f"{file} does not exist: pass a text classifier's .keras export or run directory")
    model = keras.saving.load_model(file)
    if not isinstance(model, TextClassifier):
        raise ExportError(f"{file} holds a {type(model).__name__}, not a TextClassifier: pass a text classifier")
    vocab = os.path.join(os.path.dirname(file), VOCAB_FILENAME)
    if not os.path.exists(vocab):
        raise ExportError(f"no {VOCAB_FILENAME} beside {file}: the classifier's vocabulary is needed to tokenise")
    preprocessor = BertTextPreprocessor(vocab, sequence_length=record["sequence_length"],
                                        lowercase=record.get("lowercase", True))
    label_names = _label_names(record, file, model.num_classes)
    return _keras_classify(model, preprocessor, bool(record.get("pair"))), label_names, bool(record.get("pair"))


def _keras_classify(model, preprocessor, pair):
    import keras

    def classify(texts, second):
        logits = keras.ops.cast(model(preprocessor((texts, second) if pair else texts), training=False), "float32")
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits))

    return classify


def _label_names(record, where, num_classes=None):
    names = record.get("label_names")
    if names:
        return list(names)
    if num_classes is None:
        raise ExportError(f"{where} records no label names")
    return [str(i) for i in range(num_classes)]
