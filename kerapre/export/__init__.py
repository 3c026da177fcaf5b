"""Exports: TF Serving SavedModels, reusable backbone SavedModels and ``.keras`` files.

Examples:

```python
paths = kerapre.export(model, "cnn_fashion", label_names=info.label_names)
paths["serving"]   # saved_models/cnn_fashion/1
paths["backbone"]  # saved_models/cnn_fashion-backbone/1
paths["keras"]     # saved_models/cnn_fashion-keras/1/model.keras
```
"""

import os
import sys
import types

from kerapre.errors import ExportError
from kerapre.export.backbone import write_backbone
from kerapre.export.keras_file import KERAS_FILE, write_keras
from kerapre.export.layout import (
    atomic_directory,
    existing_versions,
    latest_version_dir,
    read_metadata,
    resolve_version,
)
from kerapre.export.reload import load_backbone
from kerapre.export.saved_model_layer import SavedModelLayer
from kerapre.export.serving import write_image_serving

FORMATS = ("serving", "backbone", "hub", "keras")
DEFAULT_BASE_DIR = "saved_models"
_SUFFIX = {"serving": "", "backbone": "-backbone", "hub": "-hub", "keras": "-keras"}
# What each kind of model can be exported as, and what `export` writes by default.
KIND_FORMATS = {
    "image": ("serving", "backbone", "keras"),
    "text_classifier": ("serving", "hub", "keras"),
    "bert": ("hub", "keras"),
    "self_supervised": ("backbone", "keras"),  # its outputs are a pretext task's: nothing to serve
}
_IMAGE_KINDS = ("image", "self_supervised")


def holds_saved_model(model):
    """Whether ``model`` wraps a reloaded SavedModel (a ``.keras`` file of it would store only
    the SavedModel's path and need ``safe_mode=False`` to load)."""
    return any(isinstance(layer, SavedModelLayer) for layer in model._flatten_layers())


def exportable_formats(model):
    """The formats ``model`` can be exported as: its kind's (``KIND_FORMATS``) less, when it is
    built on a reloaded SavedModel, ``keras`` (the file would need ``safe_mode=False`` to load)
    and ``hub`` (TF Hub encoders are written from kerapre's own ``BertEncoder``)."""
    formats = KIND_FORMATS[model_kind(model)]
    if holds_saved_model(model):
        formats = tuple(fmt for fmt in formats if fmt not in ("keras", "hub"))
    return formats


def export_dirs(name, base_dir=DEFAULT_BASE_DIR):
    """Where each format of export ``name`` lives: ``{format: base directory}``."""
    return {fmt: os.path.join(base_dir, name + suffix) for fmt, suffix in _SUFFIX.items()}


def model_kind(model):
    """``image``, ``self_supervised`` (a SimCLR or rotation pretrainer), ``text_classifier``
    (a ``TextClassifier``) or ``bert`` (a ``BertPretrainer`` or ``BertEncoder``): which
    formats and inputs an export of ``model`` has."""
    from kerapre.models.bert import BertEncoder
    from kerapre.tasks.bert_pretrainer import BertPretrainer
    from kerapre.tasks.contrastive import ContrastivePretrainer
    from kerapre.tasks.rotation import RotationPretrainer
    from kerapre.tasks.text_classifier import TextClassifier

    if isinstance(model, TextClassifier):
        return "text_classifier"
    if isinstance(model, (BertPretrainer, BertEncoder)):
        return "bert"
    if isinstance(model, (ContrastivePretrainer, RotationPretrainer)):
        return "self_supervised"
    return "image"


def export(
    model,
    name,
    *,
    formats=None,
    base_dir=DEFAULT_BASE_DIR,
    version=None,
    overwrite=False,
    label_names=None,
    cut=None,
    preprocessor=None,
    pair=False,
    metadata=None,
):
    """Exports a model in each of ``formats``, all under one version number.

    Image classifiers export as ``serving`` (TF Serving, raw pixels in), ``backbone`` (a
    reusable SavedModel of the backbone) and ``keras``; SimCLR and rotation pretrainers as
    ``backbone`` and ``keras``. Text classifiers (``TextClassifier``)
    export as ``serving`` (TF Serving, raw strings in, tokenised inside the graph), ``hub``
    (TF Hub encoder + preprocessor SavedModels of its fine-tuned encoder) and ``keras``; BERT
    pretrainers and encoders as ``hub`` (with the ``.mlm`` sub-object for a pretrainer) and
    ``keras``. Every version directory is written beside its final place and renamed into
    it when complete.

    Args:
        model: an image classifier (raw images 0-255 → logits), a ``ContrastivePretrainer``
            or ``RotationPretrainer``, a ``TextClassifier``, a ``BertPretrainer`` or a
            ``BertEncoder``.
        name: the model name: TF Serving serves ``<base_dir>/<name>/<version>``.
        formats: some of ``serving``, ``backbone``, ``hub`` and ``keras`` (default: all
            that the model can have, ``exportable_formats``).
        base_dir: the directory holding every model's exports.
        version: an integer version; by default the next one after the highest existing.
        overwrite: replace ``version`` if it exists (otherwise that is an error).
        label_names: the class names, in class-id order.
        cut: image models: the layer where the backbone ends (default: the model's own cut).
        preprocessor: text models: the ``BertTextPreprocessor`` the model was trained with
            (its vocabulary, sequence length and casing go into every export); default: the
            model's own (``TextClassifier.preprocessor``).
        pair: text classifiers: the model classifies sentence pairs.
        metadata: extra JSON-able facts to record (config, data set, licence).

    Returns:
        ``{format: path}`` of what was written (for ``hub`` the version directory holding
        ``encoder/`` and ``preprocessor/``).

    Examples:

    ```python
    kerapre.export(classifier, "rotten_tomatoes", preprocessor=preprocessor, label_names=["rotten", "fresh"])
    # {"serving": "saved_models/rotten_tomatoes/1", "hub": "saved_models/rotten_tomatoes-hub/1",
    #  "keras": "saved_models/rotten_tomatoes-keras/1/model.keras"}
    ```
    """
    kind = model_kind(model)
    formats = tuple(formats or exportable_formats(model))
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ExportError(f"unknown export format(s) {sorted(unknown)}: choose from {', '.join(FORMATS)}")
    unsupported = [fmt for fmt in formats if fmt not in KIND_FORMATS[kind]]
    if unsupported:
        raise ExportError(
            f"a {type(model).__name__} has no {'/'.join(unsupported)} export: "
            f"choose from {', '.join(KIND_FORMATS[kind])}"
        )
    preprocessor = preprocessor or getattr(model, "preprocessor", None)
    if kind not in _IMAGE_KINDS and preprocessor is None:
        raise ExportError(
            f"exporting a {type(model).__name__} needs its preprocessor: pass "
            "preprocessor=BertTextPreprocessor(vocab, sequence_length=..., lowercase=...)"
        )
    if kind in ("image", "text_classifier"):
        num_classes = model.output_shape[-1]
        if label_names is not None and len(label_names) != num_classes:
            raise ExportError(
                f"{len(label_names)} label names for a model with {num_classes} classes: pass one name per class"
            )
    refused = [fmt for fmt in formats if fmt not in exportable_formats(model)]
    if refused:
        raise ExportError(
            f"a model built on a SavedModel backbone has no {'/'.join(refused)} export (a .keras file would need "
            "safe_mode=False; TF Hub encoders are written from kerapre's own BertEncoder): export --format "
            f"{'/'.join(exportable_formats(model))}, or fine-tune from a .keras export or a checkpoint"
        )
    bases = export_dirs(name, base_dir)
    if version is None:
        version = max(resolve_version(bases[fmt]) for fmt in formats)
    for fmt in formats:
        resolve_version(bases[fmt], version, overwrite)

    record = {
        "name": name,
        "version": version,
        "label_names": list(label_names) if label_names else None,
        **(_image_facts(model, cut or getattr(model, "cut", None)) if kind in _IMAGE_KINDS else {}),
        **(_text_facts(preprocessor, pair) if kind not in _IMAGE_KINDS else {}),
        **(metadata or {}),
    }
    written = {}
    for fmt in formats:
        final = os.path.join(bases[fmt], str(version))
        with atomic_directory(final, overwrite=overwrite) as tmp:
            _write(kind, fmt, model, tmp, record, label_names=label_names, preprocessor=preprocessor, pair=pair)
        written[fmt] = os.path.join(final, KERAS_FILE) if fmt == "keras" else final
    return written


def _image_facts(model, cut):
    return {
        "input": {"name": "image", "shape": list(model.input_shape), "dtype": "float32", "range": [0, 255]},
        "cut": cut,
    }


def _text_facts(preprocessor, pair):
    from kerapre.data.vocab import vocabulary_hash

    return {
        "pair": pair,
        "sequence_length": preprocessor.sequence_length,
        "lowercase": preprocessor.lowercase,
        **({"strip_accents": preprocessor.strip_accents}
           if getattr(preprocessor, "strip_accents", preprocessor.lowercase) != preprocessor.lowercase else {}),
        "vocabulary_size": preprocessor.vocabulary_size,
        "vocabulary_hash": vocabulary_hash(preprocessor.vocabulary),
    }


def _write(kind, fmt, model, directory, record, *, label_names, preprocessor, pair):
    """Writes one format of one export into the (temporary) ``directory``."""
    if kind in _IMAGE_KINDS:
        from kerapre.tasks.image_classifier import extract_backbone

        if fmt == "serving":
            write_image_serving(model, directory, record, label_names)
        elif fmt == "backbone":
            write_backbone(extract_backbone(model, record["cut"]), directory, record)
        else:
            write_keras(model, directory, record)
        return
    from kerapre.data.vocab import VOCAB_FILENAME, write_vocabulary
    from kerapre.export.hub import write_hub
    from kerapre.export.text_serving import write_text_serving

    if fmt == "serving":
        write_text_serving(model, preprocessor, directory, {**record, "task": "text_classification"},
                           label_names=label_names, pair=pair)
    elif fmt == "hub":
        encoder = model.backbone if kind == "text_classifier" else getattr(model, "encoder", model)
        write_hub(encoder, preprocessor, directory, mlm_head=getattr(model, "mlm_head", None), metadata=record)
    else:
        task = "text_classification" if kind == "text_classifier" else "bert"
        write_keras(model, directory, {**record, "task": task})
        write_vocabulary(preprocessor.vocabulary, os.path.join(directory, VOCAB_FILENAME))


class _CallableModule(types.ModuleType):
    """``kerapre.export`` is this package and, called, its :func:`export` function: importing
    any ``kerapre.export.<module>`` binds the package to the name the function is documented
    under (``kerapre.export(model, "name")``)."""

    def __call__(self, *args, **kwargs):
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = [
    "FORMATS",
    "SavedModelLayer",
    "atomic_directory",
    "existing_versions",
    "export",
    "export_dirs",
    "model_kind",
    "exportable_formats",
    "holds_saved_model",
    "latest_version_dir",
    "load_backbone",
    "read_metadata",
]
