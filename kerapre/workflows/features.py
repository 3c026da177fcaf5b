"""Features from a frozen backbone, as NumPy arrays: the input of a linear probe.

Examples:

```python
features = kerapre.extract_features("saved_models/cnn_fashion-backbone", images)   # [N, 1600]
pooled = kerapre.extract_text_features("runs/bert_pretrain", ["A moving film.", "Dull."])  # [2, 128]
```
"""

import numpy as np
import tensorflow as tf

from kerapre.errors import DataError

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
    rows = [np.asarray(backbone(batch, training=False)) for batch in batches]
    if not rows:
        return np.zeros((0, int(np.prod(backbone.output_shape[1:]))), np.float32)
    features = np.concatenate(rows)
    return features.reshape(len(features), -1).astype(np.float32, copy=False)


def extract_text_features(encoder, texts, *, vocab=None, sequence_length=128, lowercase=True,
                          output="pooled_output", batch_size=DEFAULT_BATCH):
    """Runs texts through a BERT encoder in inference mode and returns one vector per text.

    Args:
        encoder: a ``BertEncoder``-like model (as from ``kerapre.load_encoder``), or any
            path ``load_encoder`` takes; with a model, ``vocab`` is required.
        texts: strings, or ``(first, second)`` pairs of lists of strings for sentence pairs.
        vocab: the encoder's vocabulary (a list of tokens or a ``vocab.txt``); default: the
            one beside ``encoder``'s path.
        sequence_length: tokens per packed input (longer texts are truncated).
        lowercase: lowercase before tokenising (as the vocabulary was learned).
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
    from kerapre.data.text_preprocessor import BertTextPreprocessor
    from kerapre.data.vocab import load_vocabulary

    if output not in ("pooled_output", "mean"):
        raise DataError(f"unknown output {output!r}: choose pooled_output or mean")
    if not hasattr(encoder, "predict"):
        from kerapre.export.encoders import load_encoder

        encoder, found = load_encoder(encoder, trainable=False, vocab=vocab)
        vocab = found
    if vocab is None:
        raise DataError("a model encoder needs its vocabulary: pass vocab= (tokens or a vocab.txt)")
    if isinstance(vocab, str):
        vocab = load_vocabulary(vocab)
    preprocessor = BertTextPreprocessor(vocab, sequence_length=sequence_length, lowercase=lowercase)
    pair = isinstance(texts, tuple)
    count = len(texts[0]) if pair else len(texts)
    rows = []
    for start in range(0, count, batch_size):
        chunk = tuple(list(t[start:start + batch_size]) for t in texts) if pair else list(texts[start:start + batch_size])
        inputs = preprocessor(tuple(tf.constant(c) for c in chunk) if pair else tf.constant(chunk))
        outputs = encoder(inputs, training=False)
        if output == "pooled_output":
            rows.append(np.asarray(outputs["pooled_output"], np.float32))
        else:
            mask = tf.cast(inputs["padding_mask"], tf.float32)[..., None]
            sequence = tf.cast(outputs["sequence_output"], tf.float32)
            rows.append(np.asarray(tf.reduce_sum(sequence * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0)))
    hidden = int(encoder.output["pooled_output"].shape[-1]) if isinstance(encoder.output, dict) else 0
    return np.concatenate(rows) if rows else np.zeros((0, hidden), np.float32)
