"""TF Hub exports of a BERT encoder and its text preprocessor: ``write_hub`` writes both.

Both are Reusable SavedModels (https://www.tensorflow.org/hub/reusable_saved_models) that
follow the TF Hub API for text embeddings with Transformer encoders
(https://www.tensorflow.org/hub/common_saved_model_apis/text), as the BERT models of TF
Model Garden's ``official/nlp/tools/export_tfhub_lib.py`` do, so ``hub.KerasLayer`` in
``tf_keras`` uses and fine-tunes them like any TF Hub BERT. ``hub_encoder`` and
``hub_preprocessor`` write each one; ``hub_reload.load_hub_encoder`` reloads the encoder
into Keras 3. See ``docs/tf_hub.md``.
"""

import os

from kerapre.errors import ExportError
from kerapre.export.hub_encoder import write_hub_encoder
from kerapre.export.hub_layout import ENCODER_DIR, PREPROCESSOR_DIR
from kerapre.export.hub_preprocessor import write_hub_preprocessor


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
