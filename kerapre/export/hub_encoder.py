"""Writes a ``BertEncoder`` as a TF Hub Reusable SavedModel (``write_hub_encoder``)."""

import os

import tensorflow as tf

from kerapre.data.vocab import check_vocabulary_tokens, load_vocabulary, vocabulary_hash
from kerapre.errors import DataError, ExportError
from kerapre.export.hub_layout import (
    ENCODER_FORMAT,
    HUB_TO_KERAPRE_INPUTS,
    save_with_vocabulary,
    write_hub_metadata,
)


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
    save_with_vocabulary(root, directory, vocabulary, signatures={"serving_default": root.serve})
    return write_hub_metadata(
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


def _checked_vocabulary(vocabulary):
    try:
        if isinstance(vocabulary, (str, os.PathLike)):
            return load_vocabulary(vocabulary)
        vocabulary = list(vocabulary)
        check_vocabulary_tokens(vocabulary)
        return vocabulary
    except DataError as error:
        raise ExportError(str(error)) from None
