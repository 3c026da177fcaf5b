"""A trained classifier of any kind (run directory, ``.keras`` file, TF Serving export), as a
function from raw inputs (texts, or images) to class probabilities, with its class names."""

import os

import keras
import tensorflow as tf

from kerapre.errors import DataError, ExportError
from kerapre.export.resolve import resolve
from kerapre.export.runs import load_image_run, load_text_run

TEXT_HINT = "pass a text classifier's serving export, .keras export or finetune text run"
IMAGE_HINT = "pass an image classifier's run directory, .keras file or serving export"
HINT = "pass a run directory, a .keras file or a serving export"


def is_text_classifier(path):
    """Whether ``path`` (a run, ``.keras`` file or serving export) holds a text classifier,
    from what its run or export records (a bare ``.keras`` file: from the model in it)."""
    artifact = resolve(path, hint=HINT).expect(("run", "keras", "serving"), "a classifier", HINT)
    if artifact.task is None and artifact.kind == "keras":  # a .keras file saved without kerapre.json
        from kerapre.tasks.text_classifier import TextClassifier

        return isinstance(keras.saving.load_model(artifact.path), TextClassifier)
    return artifact.task in ("finetune_text", "text_classification")


def load_text_classifier(path):
    """``(classify(texts, second) -> probabilities [N, classes], label names, pair)`` of a text
    classifier's run, ``.keras`` export or serving export."""
    return _text_classifier(os.fspath(path))


def load_image_classifier(path):
    """``(classify(images float32 [N, H, W, C]) -> probabilities [N, classes], image shape,
    label names or None, the run's data section or None)`` of an image classifier's run,
    ``.keras`` file or serving export."""
    artifact = resolve(path, hint=IMAGE_HINT).expect(("run", "keras", "serving"), "an image classifier", IMAGE_HINT)
    names = artifact.label_names
    if artifact.kind == "run":
        model = load_image_run(artifact.path)
        run_data = artifact.record.config.get("data") if artifact.record is not None else None
        return _keras_probabilities(model), tuple(model.input_shape[1:]), names, run_data
    if artifact.kind == "keras":
        model = keras.saving.load_model(artifact.path)
        return _keras_probabilities(model), tuple(model.input_shape[1:]), names, None
    signature = tf.saved_model.load(artifact.path).signatures.get("serving_default")
    if signature is None or "image" not in signature.structured_input_signature[1]:
        raise ExportError(f"{artifact.path} has no serving_default signature taking 'image': is it a text "
                          "classifier? use `kerapre predict` with text")
    spec = signature.structured_input_signature[1]["image"]
    return (lambda images: signature(image=images)["probabilities"].numpy()), tuple(spec.shape[1:]), names, None


def _keras_probabilities(model):
    def classify(images):
        logits = keras.ops.cast(model(images, training=False), "float32")
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits))

    return classify


def _text_classifier(path):
    """``(classify(texts, second) -> probabilities, label names, pair)`` for any kind of path."""
    artifact = resolve(path, hint=TEXT_HINT).expect(("run", "keras", "serving"), "a text classifier", TEXT_HINT)
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
