"""A BERT encoder with a classification head, and the preprocessor that turns raw text into
its inputs: what text fine-tuning trains and what its exports serve."""

import keras
import numpy as np
import tensorflow as tf

from kerapre.tasks.task import BackboneTask

ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")
POOLINGS = ("pooled_output", "mean")
PREDICT_BATCH = 32


def pool(encoder_outputs, padding_mask, pooling="pooled_output"):
    """One vector per sequence from an encoder's outputs: its ``pooled_output``, or
    (``mean``) the mean of ``sequence_output`` over the tokens where ``padding_mask`` is 1."""
    if pooling == "pooled_output":
        return encoder_outputs["pooled_output"]
    sequence = keras.ops.cast(encoder_outputs["sequence_output"], "float32")  # sums in float32 under bf16
    mask = keras.ops.expand_dims(keras.ops.cast(padding_mask, "float32"), -1)
    return keras.ops.sum(sequence * mask, axis=1) / keras.ops.maximum(keras.ops.sum(mask, axis=1), 1.0)


@keras.saving.register_keras_serializable(package="kerapre")
class TextClassifier(BackboneTask, keras.Model):
    """Classifies text (single sentences or sentence pairs) with a BERT encoder.

    The encoder's ``pooled_output`` (the tanh dense over ``[CLS]``, BERT's fine-tuning
    recipe) or, with ``pooling="mean"``, the mean of its ``sequence_output`` over the real
    tokens (what sentence-transformers such as all-MiniLM-L6-v2 were trained to give) goes
    through dropout and a dense layer to ``num_classes`` float32 logits.

    With a ``preprocessor`` (a ``kerapre.data.BertTextPreprocessor``), saved inside the
    model as keras-hub's tasks keep theirs, ``fit``, ``evaluate`` and ``predict`` also
    take raw text: a list or array of strings, a ``(first, second)`` tuple of them for a
    pair model, or a ``tf.data`` set of ``(text, label)``; the text is tokenised batch by
    batch. Token ids (the dict below) always pass through untouched, so training keeps a
    pipeline that tokenises once and caches (``kerapre.data.text_pipeline``). A loaded
    ``.keras`` file then answers strings by itself:
    ``keras.saving.load_model("model.keras").predict(["a text"])``.

    The encoder's trainability is left as it is: freeze it with
    ``encoder.trainable = False`` (or ``load_encoder(..., trainable=False)``) before
    compiling.

    Inputs (dict): ``token_ids``, ``segment_ids``, ``padding_mask`` (int32 ``[batch, seq]``).
    Outputs: logits ``[batch, num_classes]`` (float32 under any precision policy).

    Args:
        backbone: a ``kerapre.models.BertEncoder`` (any model with those inputs and a
            ``pooled_output`` output).
        num_classes: number of output logits.
        dropout: dropout rate on the pooled output.
        preprocessor: the ``BertTextPreprocessor`` that makes the encoder's inputs from
            raw text (``None``: the model takes token ids only).
        pooling: ``pooled_output`` or ``mean`` (see above).

    Examples:

    ```python
    encoder = kerapre.models.BertEncoder.from_preset("bert_tiny", vocabulary_size=len(vocab))
    preprocessor = kerapre.data.BertTextPreprocessor(vocab, sequence_length=64)
    model = kerapre.tasks.TextClassifier(encoder, num_classes=2, preprocessor=preprocessor)
    model.compile("adamw", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train.map(preprocessor), epochs=3)   # token ids
    model.predict(["A gripping, moving film."])    # (1, 2) logits from raw text
    ```
    """

    def __init__(self, backbone, num_classes, dropout=0.1, preprocessor=None, pooling="pooled_output", **kwargs):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        # === Layers ===
        self.backbone = backbone
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        self.output_dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype="float32",
            name="logits",
        )

        # === Functional Model ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in ENCODER_INPUTS}
        pooled = pool(backbone(inputs), inputs["padding_mask"], pooling)
        outputs = self.output_dense(self.output_dropout(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.dropout = dropout
        self.preprocessor = preprocessor
        self.pooling = pooling
        if pooling == "mean":
            # The [CLS] pooler is off the path: frozen, or Keras warns on every step that no
            # gradient reaches it. (Not by overriding compile(): a .keras file's compile
            # state is restored only for models that keep Keras's own.)
            try:
                backbone.get_layer("pooled_dense").trainable = False
            except ValueError:  # an encoder without one (a reloaded SavedModel)
                pass

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "preprocessor": keras.layers.serialize(self.preprocessor) if self.preprocessor is not None else None,
            "pooling": self.pooling,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("preprocessor"), dict):
            config["preprocessor"] = keras.layers.deserialize(config["preprocessor"])
        return super().from_config(config)

    # === Raw text in ===

    def fit(self, x=None, y=None, batch_size=None, shuffle=True, **kwargs):
        if self.preprocessor is not None and is_raw_text(x) and not isinstance(x, tf.data.Dataset):
            x, y, batch_size = self._tokenised(x, y, batch_size, shuffle=shuffle)
            shuffle = False  # shuffled above, before batching
        else:
            x, y, batch_size = self._tokenised(x, y, batch_size)
        return super().fit(x, y, batch_size=batch_size, shuffle=shuffle, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        x, y, batch_size = self._tokenised(x, y, batch_size)
        return super().evaluate(x, y, batch_size=batch_size, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        x, _, batch_size = self._tokenised(x, None, batch_size)
        return super().predict(x, batch_size=batch_size, **kwargs)

    def _tokenised(self, x, y, batch_size, shuffle=False):
        """``(x, y, batch_size)`` with raw text replaced by a ``tf.data`` set of token ids
        (its examples shuffled every epoch with ``shuffle``)."""
        if self.preprocessor is None or not is_raw_text(x):
            return x, y, batch_size
        if isinstance(x, tf.data.Dataset):
            return x.map(self.preprocessor, num_parallel_calls=tf.data.AUTOTUNE), None, None
        texts = tuple(_as_strings(t) for t in x) if isinstance(x, tuple) else _as_strings(x)
        ds = tf.data.Dataset.from_tensor_slices(texts if y is None else (texts, y))
        if shuffle:
            ds = ds.shuffle(len(y) if y is not None else PREDICT_BATCH * 64)
        ds = ds.batch(batch_size or PREDICT_BATCH)
        if isinstance(texts, tuple) and y is None:  # tf.data spreads a lone pair over two arguments
            ds = ds.map(lambda first, second: self.preprocessor((first, second)))
        else:
            ds = ds.map(self.preprocessor)
        return ds.prefetch(tf.data.AUTOTUNE), None, None


def is_raw_text(x):
    """Whether ``x`` is text to tokenise rather than token ids: strings, a ``(first,
    second)`` tuple of them, or a ``tf.data`` set whose inputs are strings."""
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        return _is_string_spec(spec[0] if isinstance(spec, tuple) else spec)
    if isinstance(x, tuple) and len(x) == 2:
        return all(is_raw_text(part) for part in x)
    if isinstance(x, str):
        return True
    if isinstance(x, tf.Tensor):
        return x.dtype == tf.string
    if isinstance(x, (list, np.ndarray)):
        array = np.asarray(x)
        return array.dtype.kind in "USO" and (array.size == 0 or isinstance(array.flat[0], (str, bytes)))
    return False


def _is_string_spec(spec):
    specs = spec if isinstance(spec, tuple) else (spec,)
    return bool(specs) and all(isinstance(s, tf.TensorSpec) and s.dtype == tf.string for s in specs)


def _as_strings(x):
    return [x] if isinstance(x, str) else x
