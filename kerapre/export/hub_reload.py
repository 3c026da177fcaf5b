"""Loads a kerapre TF Hub encoder export into Keras 3 (``load_hub_encoder``)."""

import os

from kerapre.data.vocab import VOCAB_FILENAME, load_vocabulary
from kerapre.export.backbone import INFERENCE_ENDPOINT, TRAINING_ENDPOINT
from kerapre.export.hub_layout import ENCODER_DIR
from kerapre.export.layout import read_metadata
from kerapre.export.saved_model_layer import SavedModelLayer
from kerapre.export.resolve import resolve
from kerapre.export.tf_hub_bert import encoder_model


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
        ArtifactError: if ``path`` holds no kerapre TF Hub export.

    Examples:

    ```python
    encoder = load_hub_encoder("saved_models/bert_tiny-hub", trainable=True)
    preprocessor = kerapre.data.BertTextPreprocessor(encoder.vocabulary, sequence_length=128,
                                                     lowercase=encoder.lowercase)
    model = kerapre.tasks.TextClassifier(encoder, num_classes=2)
    ```
    """
    hint = "pass saved_models/<name>-hub, one of its versions or its encoder directory"
    artifact = resolve(path, hint=hint).expect(("hub",), "a TF Hub export written by kerapre", hint)
    path = os.path.join(artifact.path, ENCODER_DIR)
    layer = SavedModelLayer(
        path,
        call_endpoint=INFERENCE_ENDPOINT,
        call_training_endpoint=TRAINING_ENDPOINT,
        trainable=trainable,
        name="saved_model",
    )
    model = encoder_model(layer, trainable=trainable, name=name)
    model.vocabulary = load_vocabulary(os.path.join(path, "assets", VOCAB_FILENAME))
    metadata = read_metadata(path)
    model.lowercase = bool(metadata["lowercase"])
    model.hidden_dim = metadata.get("hidden_dim")
    return model
