"""Writes a ``BertTextPreprocessor`` as a TF Hub preprocessor SavedModel (``write_hub_preprocessor``),
with TF Hub's ``bert_pack_inputs``. Loading it needs ``import tensorflow_text`` (its ops)."""

import tensorflow as tf

from kerapre.data.vocab import vocabulary_hash
from kerapre.export.hub_layout import PREPROCESSOR_FORMAT, save_with_vocabulary, write_hub_metadata


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
    save_with_vocabulary(root, directory, vocabulary, signatures={"serving_default": preprocess})
    return write_hub_metadata(
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


def _callable_object(fn):
    """An object that saves (and reloads) as callable: ``obj(...)`` runs ``fn``."""
    obj = tf.__internal__.tracking.AutoTrackable()
    obj.__call__ = fn
    return obj


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
