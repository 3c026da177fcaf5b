"""Answering raw text with a trained classifier: a TF Serving export, a ``.keras`` export or a run."""

import os

import numpy as np

from kerapre.errors import DataError, ExportError
from kerapre.export.resolve import resolve
from kerapre.export.runs import load_text_run

HINT = "pass a text classifier's serving export, .keras export or finetune text run"


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
    artifact = resolve(path, hint=HINT).expect(("run", "keras", "serving"), "a text classifier", HINT)
    if artifact.kind == "run":
        try:
            model, _, record = load_text_run(artifact.path)
        except DataError as error:  # another kind of run
            raise ExportError(str(error)) from None
        label_names = _label_names(record.to_dict(), path, model.num_classes)
        return _keras_classify(model, record.pair), label_names, record.pair
    if artifact.kind == "keras":
        return _keras_classifier(artifact.path, artifact.metadata or {})
    return _serving_classifier(artifact.path, artifact.metadata or {})


def _serving_classifier(export_dir, metadata):
    import tensorflow as tf

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

    from kerapre.tasks.text_classifier import TextClassifier

    model = keras.saving.load_model(file)
    if not isinstance(model, TextClassifier):
        raise ExportError(f"{file} holds a {type(model).__name__}, not a TextClassifier: pass a text classifier")
    if model.preprocessor is None:  # saved by kerapre 0.1: the vocabulary is beside it
        from kerapre.data.text_preprocessor import BertTextPreprocessor
        from kerapre.data.vocab import VOCAB_FILENAME

        vocab = os.path.join(os.path.dirname(file), VOCAB_FILENAME)
        if not os.path.exists(vocab):
            raise ExportError(f"no {VOCAB_FILENAME} beside {file}: the classifier's vocabulary is needed to tokenise")
        model.preprocessor = BertTextPreprocessor(vocab, sequence_length=record["sequence_length"],
                                                  lowercase=record.get("lowercase", True))
    label_names = _label_names(record, file, model.num_classes)
    return _keras_classify(model, bool(record.get("pair"))), label_names, bool(record.get("pair"))


def _keras_classify(model, pair):
    import keras

    def classify(texts, second):
        logits = keras.ops.cast(model.predict((texts, second) if pair else texts, verbose=0), "float32")
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits))

    return classify


def _label_names(record, where, num_classes=None):
    names = record.get("label_names")
    if names:
        return list(names)
    if num_classes is None:
        raise ExportError(f"{where} records no label names")
    return [str(i) for i in range(num_classes)]
