"""Features from a frozen backbone, as NumPy arrays: the input of a linear probe.

Examples:

```python
features = kerapre.extract_features("saved_models/cnn_fashion-backbone", images)   # [N, 1600]
pooled = kerapre.extract_text_features("runs/bert_pretrain", ["A moving film.", "Dull."])  # [2, 128]
```
"""

import keras
import numpy as np
import tensorflow as tf

from kerapre.data.image_pipeline import warn_if_unit_range
from kerapre.data.text_classification import length_sorted_batches
from kerapre.data.text_preprocessor import BertTextPreprocessor, tokenise
from kerapre.errors import DataError
from kerapre.tasks.text_classifier import ENCODER_INPUTS, POOLINGS, TextClassifier, pool

DEFAULT_BATCH = 256


def extract_features(backbone, images, *, batch_size=DEFAULT_BATCH):
    """Runs images through a backbone in inference mode and returns its features, flattened.

    Args:
        backbone: a ``keras.Model`` from images to features, or anything
            ``kerapre.load_backbone`` takes (a backbone export, a ``.keras`` file, a run).
        images: raw 0-255 pixels, ``[N, H, W, C]`` (any numeric dtype), or a
            ``tf.data.Dataset`` of unbatched images or ``(image, label)`` pairs.
        batch_size: images per forward pass.

    Returns:
        ``float32 [N, features]``: one row per image, in input order (for CNN backbones
        cut at ``flatten``, the 1,600 or 2,304 flattened features).

    Raises:
        DataError: if the images do not have the backbone's input shape.

    Examples:

    ```python
    images, labels = kerapre.data.dataset_to_numpy(kerapre.data.load_image_dataset("mnist_5k", "test"))
    features = extract_features("saved_models/cnn_fashion-backbone", images)  # (2000, 1600)
    ```
    """
    if not hasattr(backbone, "predict"):
        from kerapre.export.reload import load_backbone

        backbone = load_backbone(backbone, trainable=False)
    expected = tuple(backbone.input_shape[1:])
    warn_if_unit_range(images)
    if isinstance(images, tf.data.Dataset):
        if isinstance(images.element_spec, tuple):
            images = images.map(lambda image, *_: image)
        shape = tuple(images.element_spec.shape)
        batches = images.batch(batch_size).map(lambda x: tf.cast(x, tf.float32))
    else:
        images = np.asarray(images)
        shape = images.shape[1:]
        batches = tf.data.Dataset.from_tensor_slices(images.astype(np.float32, copy=False)).batch(batch_size)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected)):
        raise DataError(
            f"images of shape {tuple(shape)} do not fit the backbone's input {expected}: "
            "pass images the backbone was made for"
        )
    if int(batches.cardinality()) == 0:
        return np.zeros((0, int(np.prod(backbone.output_shape[1:]))), np.float32)
    features = np.asarray(backbone.predict(batches, verbose=0))
    return features.reshape(len(features), -1).astype(np.float32, copy=False)


def extract_text_features(encoder, texts, *, vocab=None, sequence_length=128, lowercase=None,
                          output="pooled_output", batch_size=DEFAULT_BATCH):
    """Runs texts through a BERT encoder in inference mode and returns one vector per text.

    Args:
        encoder: a ``TextClassifier`` (its encoder and its own preprocessor), a
            ``BertEncoder``-like model (as from ``kerapre.load_encoder``; then ``vocab`` is
            required), or any path ``load_encoder`` takes.
        texts: strings, or ``(first, second)`` pairs of lists of strings for sentence pairs.
        vocab: the encoder's vocabulary (a list of tokens or a ``vocab.txt``); default: the
            one that comes with ``encoder``.
        sequence_length: tokens per packed input (longer texts are truncated); ignored for
            a ``TextClassifier``.
        lowercase: lowercase before tokenising; ``None``: as the encoder's vocabulary was
            learned (what its run or export records; uncased if nothing is recorded).
        output: ``pooled_output`` (the [CLS] vector through the pooler) or ``mean`` (the
            mean of ``sequence_output`` over real tokens).
        batch_size: texts per forward pass.

    Returns:
        ``float32 [N, hidden]``.

    Examples:

    ```python
    features = extract_text_features("runs/bert_pretrain", ["A gripping story.", "Dull."])  # (2, 128)
    ```
    """
    if output not in POOLINGS:
        raise DataError(f"unknown output {output!r}: choose {' or '.join(POOLINGS)}")
    preprocessor = getattr(encoder, "preprocessor", None)
    strip_accents = None
    if isinstance(encoder, TextClassifier):
        encoder = encoder.backbone
    elif not hasattr(encoder, "predict"):
        from kerapre.export.encoders import load_encoder, text_casing
        from kerapre.export.resolve import resolve

        lowercase, strip_accents = text_casing(resolve(encoder), lowercase, prefix="[features]", key="lowercase")
        encoder, vocab = load_encoder(encoder, trainable=False, vocab=vocab)
    if preprocessor is None:
        if vocab is None:
            raise DataError("a model encoder needs its vocabulary: pass vocab= (tokens or a vocab.txt)")
        preprocessor = BertTextPreprocessor(vocab, sequence_length=sequence_length,
                                            lowercase=True if lowercase is None else lowercase,
                                            strip_accents=strip_accents)
    if not (len(texts[0]) if isinstance(texts, tuple) else len(texts)):
        return np.zeros((0, int(encoder.output["pooled_output"].shape[-1])), np.float32)
    return pooled_features(encoder, tokenise(preprocessor, texts), output, batch_size)


def pooled_features(encoder, inputs, output="pooled_output", batch_size=DEFAULT_BATCH):
    """One float32 vector per example of token-id ``inputs`` (a dict of ``[N, seq]`` arrays),
    in their order. The examples go through ``Model.predict`` sorted by length, each batch cut
    to its longest: on short texts several times faster than batches padded to ``seq``, with
    the same outputs (padding is masked)."""
    batches, order = length_sorted_batches(inputs, batch_size=batch_size)
    sorted_features = pooling_model(encoder, output).predict(batches, verbose=0)
    features = np.empty_like(sorted_features)
    features[order] = sorted_features
    return features.astype(np.float32, copy=False)


def pooling_model(encoder, output="pooled_output"):
    """A model from the encoder's inputs to one float32 vector per sequence: its
    ``pooled_output``, or (``output="mean"``) the mean of ``sequence_output`` over the real
    tokens (``padding_mask``), as ``TextClassifier(pooling=...)`` pools."""
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in ENCODER_INPUTS}
    pooled = pool(encoder(inputs, training=False), inputs["padding_mask"], output)
    return keras.Model(inputs, keras.ops.cast(pooled, "float32"), name=f"{encoder.name}_{output}")
