"""TF Hub exports of a BERT encoder and its text preprocessor, and their Keras 3 reload.

Both are Reusable SavedModels (https://www.tensorflow.org/hub/reusable_saved_models) that
follow the TF Hub API for text embeddings with Transformer encoders
(https://www.tensorflow.org/hub/common_saved_model_apis/text), as the BERT models of TF
Model Garden's ``official/nlp/tools/export_tfhub_lib.py`` do, so ``hub.KerasLayer`` in
``tf_keras`` uses and fine-tunes them like any TF Hub BERT:

- the encoder maps ``{input_word_ids, input_mask, input_type_ids}`` to ``pooled_output``,
  ``sequence_output``, ``encoder_outputs`` and ``default``, with ``training``, the variable
  lists, ``vocab_file``, ``do_lower_case`` and, from a pretrainer, the ``mlm`` sub-object;
- the preprocessor maps strings to those inputs, with ``tokenize`` and ``bert_pack_inputs``
  for sentence pairs and other sequence lengths. Loading it needs ``import tensorflow_text``
  (its ops), as for TF Hub's own BERT preprocessors.

``load_hub_encoder`` reloads an encoder export into Keras 3 with kerapre's encoder
interface. See ``docs/tf_hub.md``.

Examples:

```python
paths = write_hub(encoder, preprocessor, "saved_models/bert_tiny-hub/1")
encoder = load_hub_encoder("saved_models/bert_tiny-hub", trainable=True)
model = kerapre.tasks.TextClassifier(encoder, num_classes=2)
```
"""

import os
import tempfile

import keras
import tensorflow as tf

from kerapre.data.vocab import VOCAB_FILENAME, check_vocabulary_tokens, load_vocabulary, vocabulary_hash
from kerapre.errors import DataError, ExportError
from kerapre.export.backbone import INFERENCE_ENDPOINT, TRAINING_ENDPOINT
from kerapre.export.layout import latest_version_dir, read_metadata, write_metadata
from kerapre.export.reload import SavedModelLayer

ENCODER_DIR = "encoder"
PREPROCESSOR_DIR = "preprocessor"
ENCODER_FORMAT = "hub_encoder"
PREPROCESSOR_FORMAT = "hub_preprocessor"
# TF Hub input names and the kerapre (keras-hub) encoder inputs they feed.
HUB_TO_KERAPRE_INPUTS = {
    "input_word_ids": "token_ids",
    "input_mask": "padding_mask",
    "input_type_ids": "segment_ids",
}


def write_hub_encoder(encoder, directory, *, vocabulary, lowercase=True, mlm_head=None, metadata=None):
    """Writes a ``BertEncoder`` as a TF Hub Reusable SavedModel into ``directory``.

    The SavedModel (``obj = hub.load(directory)``) has

    - ``obj(inputs, training=False)``: ``inputs`` a dict of int32 ``[batch, seq]``
      ``input_word_ids``, ``input_mask``, ``input_type_ids``; returns float32
      ``pooled_output`` ``[batch, hidden]``, ``sequence_output`` ``[batch, seq, hidden]``,
      ``encoder_outputs`` (a list, one ``[batch, seq, hidden]`` per layer) and ``default``
      (= ``pooled_output``). ``training=True`` turns dropout on.
    - ``obj.variables``, ``obj.trainable_variables``, ``obj.regularization_losses`` (empty).
    - ``obj.vocab_file`` (the ``assets/vocab.txt`` asset) and ``obj.do_lower_case``.
    - ``obj.mlm(inputs, training=False)`` if ``mlm_head`` is given: ``inputs`` also holds
      ``masked_lm_positions`` int32 ``[batch, num_predictions]``; returns the encoder
      outputs plus ``mlm_logits`` ``[batch, num_predictions, vocabulary]``.
    - the ``serving_default`` signature (inference; ``encoder_outputs`` flattened to
      ``encoder_outputs_0`` ... ``encoder_outputs_<n-1>``) and the same function as the
      ``serve`` attribute, plus ``serve_training`` (dropout on), which
      ``load_hub_encoder`` calls.

    ``assets.extra/kerapre.json`` records ``format: hub_encoder``, the vocabulary size
    and hash, ``lowercase``, the hidden size and number of layers, and ``metadata``.

    Args:
        encoder: a ``kerapre.models.BertEncoder`` (any dtype policy: outputs are float32).
        directory: an existing, empty directory.
        vocabulary: the encoder's WordPiece vocabulary, a list or a ``vocab.txt`` path.
        lowercase: whether the vocabulary is uncased (text lower-cased, accents stripped).
        mlm_head: the ``mlm_head`` of the ``BertPretrainer`` that trained ``encoder``, to
            add the ``mlm`` sub-object.
        metadata: extra JSON-able facts to record.

    Returns:
        The metadata record written.

    Raises:
        ExportError: if the vocabulary does not fit the encoder.

    Examples:

    ```python
    pretrainer = kerapre.tasks.BertPretrainer(encoder)
    write_hub_encoder(encoder, "hub/encoder", vocabulary="runs/bert/vocab.txt",
                      mlm_head=pretrainer.mlm_head)
    outputs = hub.load("hub/encoder")(inputs)  # inputs: input_word_ids, input_mask, input_type_ids
    ```
    """
    vocabulary = _checked_vocabulary(vocabulary)
    if len(vocabulary) != encoder.vocabulary_size:
        raise ExportError(
            f"the vocabulary has {len(vocabulary)} tokens but the encoder {encoder.vocabulary_size}: "
            "pass the vocabulary the encoder was pretrained with"
        )
    encode = _encoder_fn(encoder)
    root = tf.__internal__.tracking.AutoTrackable()
    _add_callable(root, encode, _encoder_spec(), encoder.variables)
    # Endpoints with one `inputs` argument and flat outputs, for signatures and TFSMLayer.
    root.serve = _endpoint(encode, training=False)
    root.serve_training = _endpoint(encode, training=True)
    if mlm_head is not None:
        # A separate object, as in TF Hub: the core `variables` leave out the MLM head.
        root.mlm = tf.__internal__.tracking.AutoTrackable()
        spec = {**_encoder_spec(), "masked_lm_positions": tf.TensorSpec([None, None], tf.int32, "masked_lm_positions")}
        _add_callable(root.mlm, _mlm_fn(encode, mlm_head), spec, _unique(encoder.variables + mlm_head.variables))
    root.do_lower_case = tf.Variable(lowercase, trainable=False, name="do_lower_case")
    _save_with_vocabulary(root, directory, vocabulary, signatures={"serving_default": root.serve})
    return _write_metadata(
        directory,
        {
            **(metadata or {}),
            "format": ENCODER_FORMAT,
            "vocabulary_size": len(vocabulary),
            "vocabulary_hash": vocabulary_hash(vocabulary),
            "lowercase": bool(lowercase),
            "hidden_dim": encoder.hidden_dim,
            "num_layers": encoder.num_layers,
            "max_sequence_length": encoder.max_sequence_length,
            "mlm": mlm_head is not None,
        },
    )


def write_hub_preprocessor(preprocessor, directory, metadata=None):
    """Writes a ``BertTextPreprocessor`` as a TF Hub preprocessor SavedModel into ``directory``.

    The SavedModel (``obj = hub.load(directory)``, after ``import tensorflow_text``) has

    - ``obj(sentences)``: a tf.string ``[batch]`` to int32 ``[batch, sequence_length]``
      ``input_word_ids``, ``input_mask``, ``input_type_ids`` (also the
      ``serving_default`` signature), exactly the preprocessor's ``token_ids``,
      ``padding_mask``, ``segment_ids``;
    - ``obj.tokenize(sentences)``: int32 RaggedTensor ``[batch, (words), (wordpieces)]``,
      and ``obj.tokenize.get_special_tokens_dict()`` (``vocab_size``,
      ``start_of_sequence_id``, ``end_of_segment_id``, ``padding_id``, ``mask_id``);
    - ``obj.bert_pack_inputs(segments, seq_length=sequence_length)``: a list of one or two
      tokenized segments (ragged rank 1 or 2) packed as ``[CLS] A [SEP] (B [SEP])``,
      cut round-robin to ``seq_length`` (any length the encoder supports);
    - ``obj.vocab_file`` and ``obj.do_lower_case``, as on the encoder.

    Tokenization is the preprocessor's own (keras-hub's BERT normalisation and word
    splitting, then WordPiece), so ``obj(sentences)`` equals ``preprocessor(sentences)``.
    ``assets.extra/kerapre.json`` records ``format: hub_preprocessor``.

    Args:
        preprocessor: a ``kerapre.data.BertTextPreprocessor``.
        directory: an existing, empty directory.
        metadata: extra JSON-able facts to record.

    Returns:
        The metadata record written.

    Examples:

    ```python
    write_hub_preprocessor(BertTextPreprocessor("vocab.txt", sequence_length=64), "hub/preprocessor")
    import tensorflow_text  # registers the ops the preprocessor uses
    preprocess = hub.load("hub/preprocessor")
    inputs = preprocess(tf.constant(["A gripping film."]))
    tokens = [preprocess.tokenize(tf.constant(a)), preprocess.tokenize(tf.constant(b))]
    pairs = preprocess.bert_pack_inputs(tokens, seq_length=128)
    ```
    """
    import tensorflow_text as tf_text
    from keras_hub.src.tokenizers.word_piece_tokenizer import pretokenize

    tokenizer = preprocessor.tokenizer
    vocabulary = list(preprocessor.vocabulary)
    # The keras-hub tokenizer merges words and pieces into one ragged dimension; TF Hub's
    # `tokenize` keeps both, so split words and pieces the same way it does, in two steps.
    wordpiece = tf_text.FastWordpieceTokenizer(
        vocab=vocabulary,
        suffix_indicator=tokenizer.suffix_indicator,
        unknown_token=tokenizer.oov_token,
        no_pretokenization=True,
        token_out_type=tf.int32,
    )
    special = {
        "vocab_size": len(vocabulary),
        "start_of_sequence_id": tokenizer.cls_token_id,
        "end_of_segment_id": tokenizer.sep_token_id,
        "padding_id": tokenizer.pad_token_id,
        "mask_id": tokenizer.mask_token_id,
    }
    strings = tf.TensorSpec([None], tf.string, name="sentences")

    @tf.function(input_signature=[strings], autograph=False)
    def tokenize(sentences):
        words = pretokenize(
            sentences, tokenizer.lowercase, tokenizer.strip_accents, tokenizer.split, tokenizer.split_on_cjk
        )
        return wordpiece.tokenize(words)

    def pack(segments, seq_length=preprocessor.sequence_length):
        return _bert_pack_inputs(segments, seq_length, special)

    bert_pack_inputs = tf.function(pack, autograph=False)
    for ragged_rank in (1, 2):
        for num_segments in (1, 2):
            segment = tf.RaggedTensorSpec([None] * (ragged_rank + 1), tf.int32, ragged_rank=ragged_rank)
            bert_pack_inputs.get_concrete_function(
                [segment] * num_segments, seq_length=tf.TensorSpec([], tf.int32)
            )

    @tf.function(input_signature=[strings], autograph=False)
    def preprocess(sentences):
        return _bert_pack_inputs([tokenize(sentences)], preprocessor.sequence_length, special)

    @tf.function(input_signature=[], autograph=False)
    def get_special_tokens_dict():
        return {key: tf.constant(value, tf.int32) for key, value in special.items()}

    root = _callable_object(preprocess)
    root.tokenize = _callable_object(tokenize)
    root.tokenize.get_special_tokens_dict = _callable_object(get_special_tokens_dict)
    root.bert_pack_inputs = _callable_object(bert_pack_inputs)
    root.do_lower_case = tf.Variable(preprocessor.lowercase, trainable=False, name="do_lower_case")
    _save_with_vocabulary(root, directory, vocabulary, signatures={"serving_default": preprocess})
    return _write_metadata(
        directory,
        {
            **(metadata or {}),
            "format": PREPROCESSOR_FORMAT,
            "vocabulary_size": len(vocabulary),
            "vocabulary_hash": vocabulary_hash(vocabulary),
            "lowercase": bool(preprocessor.lowercase),
            "sequence_length": preprocessor.sequence_length,
        },
    )


def write_hub(encoder, preprocessor, directory, *, mlm_head=None, metadata=None):
    """Writes the version directory of a ``hub`` export: ``encoder/`` and ``preprocessor/``.

    The encoder gets the preprocessor's vocabulary and lower-casing as its ``vocab_file``
    and ``do_lower_case``.

    Args:
        encoder: a ``kerapre.models.BertEncoder``.
        preprocessor: the ``kerapre.data.BertTextPreprocessor`` for its vocabulary.
        directory: an existing, empty directory (e.g. ``saved_models/<name>-hub/<version>``).
        mlm_head: as for ``write_hub_encoder``.
        metadata: extra JSON-able facts to record in both ``kerapre.json`` files.

    Returns:
        ``{"encoder": path, "preprocessor": path}``.

    Raises:
        ExportError: if the preprocessor's vocabulary size is not the encoder's.

    Examples:

    ```python
    pretrainer = kerapre.tasks.BertPretrainer(encoder)  # ... pretrained
    preprocessor = kerapre.data.BertTextPreprocessor("runs/bert/vocab.txt", sequence_length=128)
    paths = write_hub(encoder, preprocessor, "saved_models/bert_tiny-hub/1",
                      mlm_head=pretrainer.mlm_head)
    paths["encoder"]  # saved_models/bert_tiny-hub/1/encoder
    ```
    """
    if preprocessor.vocabulary_size != encoder.vocabulary_size:
        raise ExportError(
            f"the preprocessor's vocabulary has {preprocessor.vocabulary_size} tokens but the encoder "
            f"{encoder.vocabulary_size}: pass the BertTextPreprocessor built on the vocabulary the encoder "
            "was pretrained with"
        )
    paths = {part: os.path.join(os.fspath(directory), part) for part in (ENCODER_DIR, PREPROCESSOR_DIR)}
    for path in paths.values():
        os.makedirs(path)
    write_hub_encoder(
        encoder,
        paths[ENCODER_DIR],
        vocabulary=preprocessor.vocabulary,
        lowercase=preprocessor.lowercase,
        mlm_head=mlm_head,
        metadata=metadata,
    )
    write_hub_preprocessor(preprocessor, paths[PREPROCESSOR_DIR], metadata=metadata)
    return paths


def load_hub_encoder(path, trainable=False, name="encoder"):
    """Loads a kerapre TF Hub encoder export into Keras 3 as a BERT encoder.

    The model has kerapre's encoder interface, so ``kerapre.tasks.TextClassifier`` takes
    it: inputs ``token_ids``, ``segment_ids``, ``padding_mask`` (int32 ``[batch, seq]``),
    dict outputs ``sequence_output`` and ``pooled_output``. It wraps the SavedModel in a
    ``SavedModelLayer`` (``keras.layers.TFSMLayer`` that trains with Adam/AdamW), whose
    ``training=True`` calls reach the export's dropout. The export's vocabulary and
    lower-casing are attached as ``model.vocabulary`` (a list) and ``model.lowercase``,
    to build the matching ``BertTextPreprocessor``.

    Args:
        path: the ``encoder`` directory of a ``hub`` export, the version directory holding
            it, or the directory of versions (the highest version is used).
        trainable: ``False`` freezes every encoder weight; ``True`` fine-tunes them.
        name: the name of the returned model.

    Returns:
        A ``keras.Model``. Build it inside ``strategy.scope()`` when training under a
        distribution strategy.

    Raises:
        ExportError: if ``path`` holds no kerapre TF Hub encoder export.

    Examples:

    ```python
    encoder = load_hub_encoder("saved_models/bert_tiny-hub", trainable=True)
    preprocessor = kerapre.data.BertTextPreprocessor(encoder.vocabulary, sequence_length=128,
                                                     lowercase=encoder.lowercase)
    model = kerapre.tasks.TextClassifier(encoder, num_classes=2)
    ```
    """
    path = _encoder_dir(path)
    layer = SavedModelLayer(
        path,
        call_endpoint=INFERENCE_ENDPOINT,
        call_training_endpoint=TRAINING_ENDPOINT,
        trainable=trainable,
        name="saved_model",
    )
    inputs = {key: keras.Input(shape=(None,), dtype="int32", name=key) for key in HUB_TO_KERAPRE_INPUTS.values()}
    outputs = layer({hub_key: inputs[key] for hub_key, key in HUB_TO_KERAPRE_INPUTS.items()})
    model = keras.Model(
        inputs, {key: outputs[key] for key in ("sequence_output", "pooled_output")}, name=name
    )
    model.trainable = trainable
    model.vocabulary = load_vocabulary(os.path.join(path, "assets", VOCAB_FILENAME))
    metadata = read_metadata(path)
    model.lowercase = bool(metadata["lowercase"])
    model.hidden_dim = metadata.get("hidden_dim")
    return model


# === Encoder functions ===


def _encoder_spec():
    return {key: tf.TensorSpec([None, None], tf.int32, name=key) for key in HUB_TO_KERAPRE_INPUTS}


def _encoder_fn(encoder):
    def encode(inputs, training):
        outputs = encoder({key: inputs[hub_key] for hub_key, key in HUB_TO_KERAPRE_INPUTS.items()}, training=training)
        pooled = _float32(outputs["pooled_output"])
        return {
            "pooled_output": pooled,
            "sequence_output": _float32(outputs["sequence_output"]),
            "encoder_outputs": [_float32(x) for x in outputs["encoder_outputs"]],
            "default": pooled,
        }

    return encode


def _mlm_fn(encode, mlm_head):
    def mlm(inputs, training):
        # The pretrainer's graph, written out: encoder, then the head at the positions.
        outputs = dict(encode(inputs, training))
        logits = mlm_head(outputs["sequence_output"], mask_positions=inputs["masked_lm_positions"], training=training)
        outputs["mlm_logits"] = _float32(logits)
        return outputs

    return mlm


def _callable_object(fn):
    """An object that saves (and reloads) as callable: ``obj(...)`` runs ``fn``."""
    obj = tf.__internal__.tracking.AutoTrackable()
    obj.__call__ = fn
    return obj


def _add_callable(obj, fn, spec, variables):
    """Gives ``obj`` the Reusable SavedModel API: ``__call__(inputs, training)`` traced for
    both modes, and its variable lists."""

    @tf.function(autograph=False)
    def call(inputs, training=False):
        return fn(inputs, training)

    for training in (False, True):
        call.get_concrete_function(spec, training=training)
    obj.__call__ = call
    obj.variables = list(variables)
    obj.trainable_variables = [v for v in variables if v.trainable]
    obj.regularization_losses = []


def _endpoint(encode, training):
    """``encode`` in one mode, with flat outputs (signature outputs must be): ``encoder_outputs``
    becomes ``encoder_outputs_0`` ... ``encoder_outputs_<n-1>``."""

    def endpoint(inputs):
        outputs = encode(inputs, training)
        flat = {key: value for key, value in outputs.items() if key != "encoder_outputs"}
        flat.update({f"encoder_outputs_{i}": x for i, x in enumerate(outputs["encoder_outputs"])})
        return flat

    return tf.function(endpoint, input_signature=[_encoder_spec()], autograph=False)


def _float32(x):
    return tf.cast(x, tf.float32)


def _unique(variables):
    seen, result = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            result.append(variable)
    return result


# === Preprocessor functions ===


def _bert_pack_inputs(segments, seq_length, special):
    """TF Hub's ``bert_pack_inputs``: ``[CLS] A [SEP] (B [SEP])``, cut round-robin, padded."""
    import tensorflow_text as tf_text

    segments = [s.merge_dims(1, -1) if s.shape.rank > 2 else s for s in segments]
    trimmed = tf_text.RoundRobinTrimmer(seq_length - len(segments) - 1).trim(segments)
    word_ids, type_ids = tf_text.combine_segments(
        trimmed, start_of_sequence_id=special["start_of_sequence_id"], end_of_segment_id=special["end_of_segment_id"]
    )
    word_ids, mask = tf_text.pad_model_inputs(word_ids, seq_length, pad_value=special["padding_id"])
    type_ids, _ = tf_text.pad_model_inputs(type_ids, seq_length, pad_value=0)
    shape = tf.stack([segments[0].nrows(out_type=tf.int32), tf.cast(seq_length, tf.int32)])
    return {
        "input_word_ids": tf.reshape(tf.cast(word_ids, tf.int32), shape),
        "input_mask": tf.reshape(tf.cast(mask, tf.int32), shape),
        "input_type_ids": tf.reshape(tf.cast(type_ids, tf.int32), shape),
    }


# === Files ===


def _checked_vocabulary(vocabulary):
    try:
        if isinstance(vocabulary, (str, os.PathLike)):
            return load_vocabulary(vocabulary)
        vocabulary = list(vocabulary)
        check_vocabulary_tokens(vocabulary)
        return vocabulary
    except DataError as error:
        raise ExportError(str(error)) from None


def _save_with_vocabulary(root, directory, vocabulary, signatures):
    """Saves ``root`` with the vocabulary as its ``vocab_file`` asset (``assets/vocab.txt``)."""
    with tempfile.TemporaryDirectory(prefix="kerapre-hub-") as tmp:
        vocab_file = os.path.join(tmp, VOCAB_FILENAME)
        with open(vocab_file, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(f"{token}\n" for token in vocabulary))
        root.vocab_file = tf.saved_model.Asset(vocab_file)
        tf.saved_model.save(root, os.fspath(directory), signatures=signatures)


def _write_metadata(directory, record):
    extra = os.path.join(os.fspath(directory), "assets.extra")
    os.makedirs(extra, exist_ok=True)
    return write_metadata(extra, record)


def find_hub_encoder(path):
    """The kerapre TF Hub ``encoder`` SavedModel directory that ``path`` names (that
    directory, the version directory holding it, or the directory of versions, meaning the
    highest), or ``None`` if it names none."""
    return next((c for c in _encoder_candidates(path) if _format(c) == ENCODER_FORMAT), None)


def _encoder_dir(path):
    """``find_hub_encoder(path)``, or an ExportError that says what ``path`` holds instead."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise ExportError(f"{path} does not exist: pass a TF Hub export written by kerapre (its encoder directory)")
    found = find_hub_encoder(path)
    if found:
        return found
    for candidate in _encoder_candidates(path):
        if os.path.exists(os.path.join(candidate, "saved_model.pb")):
            raise ExportError(
                f"{candidate} is not a kerapre TF Hub encoder (format {_format(candidate)!r}): "
                "export one with kerapre.export(..., formats=['hub']) and pass its directory"
            )
    raise ExportError(
        f"{path} holds no TF Hub encoder: pass saved_models/<name>-hub, one of its versions or its encoder directory"
    )


def _encoder_candidates(path):
    path = os.fspath(path)
    if not os.path.isdir(path):
        return []
    candidates = [path, os.path.join(path, ENCODER_DIR)]
    latest = latest_version_dir(path)
    if latest != path:
        candidates.append(os.path.join(latest, ENCODER_DIR))
    return [c for c in candidates if os.path.exists(os.path.join(c, "saved_model.pb"))]


def _format(saved_model_dir):
    return (read_metadata(saved_model_dir) or {}).get("format")
