"""TF Serving export of a text classifier: raw UTF-8 strings in, named probabilities out.

The SavedModel tokenises inside the graph with the preprocessor's own keras-hub / tf.text
ops (WordPiece, ``[CLS] A [SEP] (B [SEP])`` packing, round-robin truncation), so a client
sends plain text and no Python object is needed to serve it. Beside the SavedModel,
``assets.extra/`` holds ``kerapre.json`` (what the export is), ``vocab.txt`` (the
vocabulary it tokenises with) and ``tf_serving_warmup_requests`` (PredictionLog records
TF Serving replays at load time, so the first real request is not the slow one).

Signatures (every output: ``probabilities`` float32 ``[batch, classes]``, ``class_ids``
int64 ``[batch]``, ``labels`` string ``[batch]``):

- ``serving_default``: ``text`` (string ``[batch]``); for a sentence-pair model it is
  ``serving_pair``: ``first`` and ``second`` (string ``[batch]`` each);
- ``serving_tokenized``: ``token_ids``, ``segment_ids``, ``padding_mask`` (int32
  ``[batch, seq]``), as ``BertTextPreprocessor`` makes them;
- ``serving_examples``: ``examples`` (string ``[batch]``), serialised ``tf.Example`` s
  with a bytes feature ``text`` (pairs: ``first`` and ``second``).

TF 2 writes every signature with the Predict method name, so TF Serving's Classify and
Regress APIs refuse them (tensorflow/tensorflow#38081): ``serving_examples`` is called
through Predict.
"""

import os

import keras
import tensorflow as tf

from kerapre.data.text_preprocessor import BertTextPreprocessor
from kerapre.data.vocab import VOCAB_FILENAME, vocabulary_hash, write_vocabulary
from kerapre.errors import ExportError
from kerapre.export.layout import write_metadata
from kerapre.export.serving import classification_outputs
from kerapre.tasks.text_classifier import ENCODER_INPUTS

WARMUP_FILE = "tf_serving_warmup_requests"
# TF Serving reads at most this many warm-up records.
MAX_WARMUP_RECORDS = 1000
DEFAULT_WARMUP_TEXTS = (
    "A gripping, moving film with a fine cast.",
    "Dull.",
    "",
    "The plot wanders from one scene to the next, the dialogue is flat and the ending "
    "arrives long after anyone has stopped caring, though the photography is lovely.",
)
DEFAULT_WARMUP_PAIRS = (
    ("Is the film worth seeing?", "Yes, it is gripping from start to finish."),
    ("Dull.", "Very dull."),
    ("", ""),
    ("The plot wanders from one scene to the next.", "The ending arrives long after anyone has stopped caring."),
)


def text_serving_archive(model, preprocessor, label_names=None, pair=False):
    """An ``ExportArchive`` that classifies raw strings, tokenising them in the graph.

    Endpoints, in order (``ExportArchive`` also writes the first as ``serving_default``):

    - ``serving_default`` (``text``) or, for ``pair=True``, ``serving_pair`` (``first``,
      ``second``): string ``[batch]`` → ``probabilities`` (float32 ``[batch, classes]``),
      ``class_ids`` (int64 ``[batch]``) and ``labels`` (string ``[batch]``);
    - ``serving_tokenized``: int32 ``token_ids``, ``segment_ids``, ``padding_mask``
      ``[batch, seq]`` → the same outputs;
    - ``serving_examples``: serialised ``tf.Example`` s (``examples``, string ``[batch]``)
      with a bytes feature ``text`` (pairs: ``first`` and ``second``) → the same outputs.

    Outputs are float32 under any dtype policy. Text longer than the preprocessor's
    ``sequence_length`` is cut as the preprocessor cuts it; an empty string is answered.

    Args:
        model: a ``kerapre.tasks.TextClassifier`` (any Keras model from the dict of
            ``token_ids``, ``segment_ids`` and ``padding_mask`` to logits).
        preprocessor: the ``kerapre.data.BertTextPreprocessor`` the model was trained with.
        label_names: the class names, in class-id order (default: the ids as strings).
        pair: the model classifies sentence pairs (the preprocessor packs two segments).

    Returns:
        A ``keras.export.ExportArchive``; ``write_out(path)`` writes the SavedModel.

    Raises:
        ExportError: if the label names do not match the model's classes, the
            preprocessor's vocabulary or sequence length does not fit the model's
            encoder, or the model does not take the encoder inputs.

    Examples:

    ```python
    archive = text_serving_archive(model, preprocessor, ["negative", "positive"])
    archive.write_out("saved_models/sentiment/1")
    signature = tf.saved_model.load("saved_models/sentiment/1").signatures["serving_default"]
    signature(text=tf.constant(["A gripping film."]))["labels"]  # [b"positive"]
    ```
    """
    names = _check(model, preprocessor, label_names)
    if not preprocessor.built:
        preprocessor(tf.constant([""]))  # ExportArchive.track() refuses unbuilt layers

    archive = keras.export.ExportArchive()
    archive.track(model)
    # The tokenizer's vocabulary and tf.text state are not variables: an untracked
    # preprocessing layer leaves them out of the SavedModel (keras-hub#2015, #1629).
    archive.track(preprocessor)
    label_table = tf.constant(names)

    def predict(inputs):
        return classification_outputs(model(inputs, training=False), label_table)

    def strings(name):
        return tf.TensorSpec((None,), tf.string, name=name)

    text_features = ("first", "second") if pair else ("text",)
    if pair:
        archive.add_endpoint(
            "serving_pair",
            lambda first, second: predict(preprocessor((first, second))),
            input_signature=[strings("first"), strings("second")],
        )
    else:
        archive.add_endpoint(
            "serving_default",
            lambda text: predict(preprocessor(text)),
            input_signature=[strings("text")],
        )
    archive.add_endpoint(
        "serving_tokenized",
        lambda token_ids, segment_ids, padding_mask: predict(
            {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
        ),
        input_signature=[tf.TensorSpec((None, None), tf.int32, name=name) for name in ENCODER_INPUTS],
    )

    def from_examples(examples):
        spec = {name: tf.io.FixedLenFeature([], tf.string) for name in text_features}
        features = tf.io.parse_example(examples, spec)
        texts = tuple(features[name] for name in text_features)
        return predict(preprocessor(texts if pair else texts[0]))

    archive.add_endpoint("serving_examples", from_examples, input_signature=[strings("examples")])
    return archive


def write_text_serving(
    model, preprocessor, directory, metadata, label_names=None, pair=False, warmup_texts=None
):
    """Writes a text classifier's TF Serving SavedModel and its ``assets.extra`` files.

    ``directory`` (existing and empty; versioning and the atomic rename are the caller's)
    receives the SavedModel of ``text_serving_archive`` and ``assets.extra/`` with
    ``kerapre.json``, ``vocab.txt`` and ``tf_serving_warmup_requests``: one Predict
    request to ``serving_default`` per warm-up text, then one with all of them.

    Args:
        model: a ``kerapre.tasks.TextClassifier``.
        preprocessor: its ``kerapre.data.BertTextPreprocessor``.
        directory: where to write the SavedModel.
        metadata: JSON-able facts to record in ``kerapre.json`` (name, version, data set);
            the facts of the export itself (``format``, ``task``, ``pair``,
            ``sequence_length``, ``lowercase``, ``vocabulary_size``, ``vocabulary_hash``,
            ``label_names``, ``signatures``) take precedence.
        label_names: the class names, in class-id order (default: the ids as strings).
        pair: the model classifies sentence pairs.
        warmup_texts: strings (pairs: ``(first, second)`` tuples) to warm the server up
            with, at most 999; default: a few built-in sentences including an empty one.
            An empty list writes no warm-up file.

    Returns:
        The metadata record written to ``assets.extra/kerapre.json``.

    Raises:
        ExportError: as for ``text_serving_archive``, or for malformed ``warmup_texts``.

    Examples:

    ```python
    with kerapre.export.atomic_directory("saved_models/sentiment/1") as tmp:
        write_text_serving(model, preprocessor, tmp, {"name": "sentiment", "version": 1},
                           label_names=["negative", "positive"])
    ```
    """
    warmup = _warmup_batches(warmup_texts, pair)
    archive = text_serving_archive(model, preprocessor, label_names, pair)
    names = _label_names(model, label_names)
    archive.write_out(directory, verbose=False)

    extra = os.path.join(directory, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    write_vocabulary(preprocessor.vocabulary, os.path.join(extra, VOCAB_FILENAME))
    if warmup:
        write_warmup_requests(os.path.join(extra, WARMUP_FILE), warmup, pair)
    first = ["serving_pair", "serving_default"] if pair else ["serving_default"]
    return write_metadata(
        extra,
        {
            **(metadata or {}),
            "format": "serving",
            "task": "text_classification",
            "pair": pair,
            "sequence_length": preprocessor.sequence_length,
            "lowercase": preprocessor.lowercase,
            "vocabulary_size": preprocessor.vocabulary_size,
            "vocabulary_hash": vocabulary_hash(preprocessor.vocabulary),
            "label_names": names,
            "signatures": first + ["serving_tokenized", "serving_examples"],
        },
    )


def write_warmup_requests(path, batches, pair=False):
    """Writes TF Serving warm-up records: one ``PredictionLog`` per batch of texts.

    Each record holds a ``PredictRequest`` for ``serving_default`` whose inputs (``text``,
    or ``first`` and ``second``) are string ``TensorProto`` s.

    Args:
        path: the file to write, ``<export>/assets.extra/tf_serving_warmup_requests``.
        batches: a list of batches; a batch is a list of strings (pairs: of
            ``(first, second)`` tuples).
        pair: the texts are pairs.

    Examples:

    ```python
    write_warmup_requests("assets.extra/tf_serving_warmup_requests", [["Dull."], ["A film.", ""]])
    ```
    """
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    with tf.io.TFRecordWriter(path) as writer:
        for batch in batches:
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = "serving_default"
            inputs = {"first": [a for a, _ in batch], "second": [b for _, b in batch]} if pair else {"text": batch}
            for name, texts in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string, shape=[len(texts)]))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def _warmup_batches(texts, pair):
    """The warm-up batches: each text alone, then all of them together."""
    if texts is None:
        texts = DEFAULT_WARMUP_PAIRS if pair else DEFAULT_WARMUP_TEXTS
    if isinstance(texts, (str, bytes)):
        raise ExportError("warmup_texts is a single string: pass a list of strings")
    texts = list(texts)
    for text in texts:
        ok = (
            isinstance(text, (tuple, list)) and len(text) == 2 and all(isinstance(t, str) for t in text)
            if pair
            else isinstance(text, str)
        )
        if not ok:
            wanted = "(first, second) string pairs" if pair else "strings"
            raise ExportError(f"warm-up text {text!r} is not of the form expected: pass a list of {wanted}")
    if len(texts) >= MAX_WARMUP_RECORDS:
        raise ExportError(
            f"{len(texts)} warm-up texts: TF Serving reads at most {MAX_WARMUP_RECORDS} warm-up records, "
            f"pass at most {MAX_WARMUP_RECORDS - 1}"
        )
    texts = [tuple(text) for text in texts] if pair else texts
    return [[text] for text in texts] + ([texts] if len(texts) > 1 else [])


def _label_names(model, label_names):
    num_classes = model.output_shape[-1]
    names = [str(name) for name in label_names] if label_names else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise ExportError(f"{len(names)} label names for a model with {num_classes} classes: pass one name per class")
    return names


def _check(model, preprocessor, label_names):
    """Checks that the model, preprocessor and labels fit together; returns the label names."""
    if not isinstance(preprocessor, BertTextPreprocessor):
        raise ExportError(
            f"the preprocessor is a {type(preprocessor).__name__}: pass the kerapre.data.BertTextPreprocessor "
            "the model was trained with"
        )
    model_inputs = {tensor.name for tensor in getattr(model, "inputs", None) or ()}
    if not set(ENCODER_INPUTS) <= model_inputs:
        raise ExportError(
            f"{model.name} takes inputs {sorted(model_inputs)}, not {', '.join(ENCODER_INPUTS)}: "
            "pass a kerapre.tasks.TextClassifier"
        )
    names = _label_names(model, label_names)
    encoder = getattr(model, "backbone", None)
    vocabulary_size = getattr(encoder, "vocabulary_size", None)
    if vocabulary_size is not None and vocabulary_size != preprocessor.vocabulary_size:
        raise ExportError(
            f"the preprocessor's vocabulary has {preprocessor.vocabulary_size} tokens but the model's encoder "
            f"embeds {vocabulary_size}: pass the vocabulary the encoder was trained with"
        )
    max_length = getattr(encoder, "max_sequence_length", None)
    if max_length is not None and preprocessor.sequence_length > max_length:
        raise ExportError(
            f"the preprocessor packs {preprocessor.sequence_length} tokens but the model's encoder takes at most "
            f"{max_length}: pass a preprocessor with sequence_length <= {max_length}"
        )
    return names
