"""BERT encoders published as SavedModels in the TF Hub BERT API: Google's
``bert_en_uncased_L-*_H-*_A-*`` family, the Small BERTs, and Model Garden's ``export_tfhub``
output (`API <https://www.tensorflow.org/hub/common_saved_model_apis/text>`_).

Such a SavedModel takes a dict of int32 ``[batch, seq]`` ``input_word_ids``, ``input_mask`` and
``input_type_ids`` and returns ``pooled_output``, ``sequence_output`` (and ``encoder_outputs``,
``default``); its vocabulary is the ``vocab_file`` asset and its casing the ``do_lower_case``
variable. Google's expose the encoder only as ``__call__(inputs, training)``: their
``serving_default`` signature is inference-only, so a layer that called it (as
``keras.layers.TFSMLayer`` does) would fine-tune with dropout silently off. ``TFHubBertLayer``
passes ``training`` through.

A handle (``https://tfhub.dev/...``, ``https://www.kaggle.com/models/...``) is downloaded with
``tensorflow_hub.resolve`` (online; offline the error names the offline choices).
"""

import os

import keras
import tensorflow as tf

from kerapre.data.vocab import load_vocabulary
from kerapre.errors import DataError, first_line
from kerapre.export.hub_layout import HUB_TO_KERAPRE_INPUTS
from kerapre.export.published import OFFLINE_CHOICES
from kerapre.export.saved_model_layer import SavedModelLayer

TF_HUB_HANDLES = ("https://tfhub.dev/", "https://www.kaggle.com/models/", "https://kaggle.com/models/")
LOWER_CASE_KEY = "do_lower_case/.ATTRIBUTES/VARIABLE_VALUE"


def is_tf_hub_bert_directory(path):
    """Whether ``path`` is a SavedModel with the TF Hub BERT API's ``do_lower_case`` variable or
    ``assets/vocab.txt`` (it reads the checkpoint's index, not the model)."""
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        return False
    return os.path.isfile(os.path.join(path, "assets", "vocab.txt")) or tf_hub_lowercase(path) is not None


def tf_hub_lowercase(path):
    """The ``do_lower_case`` a TF Hub BERT SavedModel records (``None``: it records none)."""
    try:
        reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    except (tf.errors.OpError, ValueError):
        return None
    if not reader.has_tensor(LOWER_CASE_KEY):
        return None
    return bool(reader.get_tensor(LOWER_CASE_KEY))


def local_tf_hub_directory(path):
    """``path`` itself, or the directory ``tensorflow_hub`` downloads a handle to."""
    if not path.startswith(TF_HUB_HANDLES):
        return path
    import tensorflow_hub as hub

    try:
        return hub.resolve(path)
    except Exception as error:  # tensorflow_hub raises whatever its download client raises
        raise DataError(f"could not download {path} ({first_line(error)}): {OFFLINE_CHOICES}") from None


@keras.saving.register_keras_serializable(package="kerapre")
class TFHubBertLayer(SavedModelLayer):
    """A TF Hub BERT SavedModel as a Keras 3 layer: ``__call__(inputs, training)`` with
    ``training`` passed through (dropout on while fine-tuning), its variables tracked (trainable
    with Adam/AdamW, as ``SavedModelLayer``). Returns ``sequence_output`` and ``pooled_output``."""

    def __init__(self, filepath, trainable=True, name=None, dtype=None, **kwargs):
        kwargs.pop("call_endpoint", None)
        kwargs.pop("call_training_endpoint", None)
        super().__init__(filepath, call_endpoint="__call__", trainable=trainable, name=name, dtype=dtype, **kwargs)

    def call(self, inputs, training=False):
        outputs = self.call_endpoint_fn(inputs, training=bool(training))
        return {key: outputs[key] for key in ("sequence_output", "pooled_output")}


def load_tf_hub_bert(path, trainable=True, name="encoder"):
    """A TF Hub BERT SavedModel (a directory or a handle) as a model with kerapre's encoder
    interface (inputs ``token_ids``, ``segment_ids``, ``padding_mask``; dict outputs
    ``sequence_output``, ``pooled_output``), with ``vocabulary`` (from its ``vocab_file``
    asset), ``lowercase`` (its ``do_lower_case``) and ``hidden_dim`` attached."""
    directory = local_tf_hub_directory(path)
    try:
        layer = TFHubBertLayer(directory, trainable=trainable, name="saved_model")
    except ValueError as error:
        raise DataError(f"{path} is not a TF Hub BERT SavedModel ({first_line(error)}): pass one with "
                        "__call__(inputs, training) over input_word_ids, input_mask and input_type_ids") from None
    loaded = layer._reloaded_obj
    vocab_file = getattr(loaded, "vocab_file", None)
    if vocab_file is None:
        raise DataError(f"{path} has no vocab_file asset (a SentencePiece model such as ALBERT's is not a BERT "
                        "WordPiece encoder): pass a BERT encoder SavedModel, which carries its vocab.txt")
    try:
        model = encoder_model(layer, trainable=trainable, name=name)
    except (ValueError, TypeError, KeyError) as error:  # e.g. a preprocessor SavedModel (strings in)
        raise DataError(f"{path} does not take input_word_ids, input_mask and input_type_ids to pooled_output and "
                        f"sequence_output ({first_line(error)}): pass a BERT encoder SavedModel, not its "
                        "preprocessor") from None
    model.vocabulary = load_vocabulary(vocab_file.asset_path.numpy().decode("utf-8"))
    lowercase = getattr(loaded, "do_lower_case", None)
    model.lowercase = bool(lowercase.numpy()) if lowercase is not None else None
    model.hidden_dim = int(model.output["pooled_output"].shape[-1])
    return model


def encoder_model(layer, *, trainable, name):
    """A layer taking TF Hub BERT inputs (``input_word_ids``, ...) as a model with kerapre's
    encoder interface: inputs ``token_ids``, ``segment_ids``, ``padding_mask``, dict outputs
    ``sequence_output`` and ``pooled_output``; ``trainable`` set."""
    inputs = {key: keras.Input(shape=(None,), dtype="int32", name=key) for key in HUB_TO_KERAPRE_INPUTS.values()}
    outputs = layer({hub_key: inputs[key] for hub_key, key in HUB_TO_KERAPRE_INPUTS.items()})
    model = keras.Model(inputs, {key: outputs[key] for key in ("sequence_output", "pooled_output")}, name=name)
    model.trainable = trainable
    return model
