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
from kerapre.export.reload import SavedModelLayer, load_backbone
from kerapre.export.serving import write_image_serving

FORMATS = ("serving", "backbone", "keras")
DEFAULT_BASE_DIR = "saved_models"
_SUFFIX = {"serving": "", "backbone": "-backbone", "keras": "-keras"}


def holds_saved_model(model):
    """Whether ``model`` wraps a reloaded SavedModel (a ``.keras`` file of it would store only
    the SavedModel's path and need ``safe_mode=False`` to load)."""
    return any(isinstance(layer, SavedModelLayer) for layer in model._flatten_layers())


def export_dirs(name, base_dir=DEFAULT_BASE_DIR):
    """Where each format of export ``name`` lives: ``{format: base directory}``."""
    return {fmt: os.path.join(base_dir, name + suffix) for fmt, suffix in _SUFFIX.items()}


def export(
    model,
    name,
    *,
    formats=FORMATS,
    base_dir=DEFAULT_BASE_DIR,
    version=None,
    overwrite=False,
    label_names=None,
    cut=None,
    metadata=None,
):
    """Exports an image classifier in each of ``formats``, all under one version number.

    Args:
        model: a Keras model from raw images (0-255) to logits.
        name: the model name: TF Serving serves ``<base_dir>/<name>/<version>``.
        formats: any of ``serving``, ``backbone`` and ``keras``.
        base_dir: the directory holding every model's exports.
        version: an integer version; by default the next one after the highest existing.
        overwrite: replace ``version`` if it exists (otherwise that is an error).
        label_names: the class names, in class-id order.
        cut: the layer where the backbone ends (default: the model's own cut).
        metadata: extra JSON-able facts to record (config, data set, licence).

    Returns:
        ``{format: path}`` of what was written.
    """
    from kerapre.tasks.image_classifier import extract_backbone

    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ExportError(f"unknown export format(s) {sorted(unknown)}: choose from {', '.join(FORMATS)}")
    num_classes = model.output_shape[-1]
    if label_names is not None and len(label_names) != num_classes:
        raise ExportError(
            f"{len(label_names)} label names for a model with {num_classes} classes: pass one name per class"
        )
    if "keras" in formats and holds_saved_model(model):
        raise ExportError(
            "a model built on a SavedModel backbone cannot be saved as a .keras file that loads with "
            "safe_mode on: export --format serving/backbone, or fine-tune from the backbone's .keras export"
        )
    bases = export_dirs(name, base_dir)
    if version is None:
        version = max(resolve_version(bases[fmt]) for fmt in formats)
    for fmt in formats:
        resolve_version(bases[fmt], version, overwrite)

    cut = cut or getattr(model, "cut", None)
    record = {
        "name": name,
        "version": version,
        "label_names": list(label_names) if label_names else None,
        "input": {"name": "image", "shape": list(model.input_shape), "dtype": "float32", "range": [0, 255]},
        "cut": cut,
        **(metadata or {}),
    }
    written = {}
    for fmt in formats:
        final = os.path.join(bases[fmt], str(version))
        with atomic_directory(final, overwrite=overwrite) as tmp:
            if fmt == "serving":
                write_image_serving(model, tmp, record, label_names)
            elif fmt == "backbone":
                write_backbone(extract_backbone(model, cut), tmp, record)
            else:
                write_keras(model, tmp, record)
        written[fmt] = os.path.join(final, KERAS_FILE) if fmt == "keras" else final
    return written


__all__ = [
    "FORMATS",
    "SavedModelLayer",
    "atomic_directory",
    "existing_versions",
    "export",
    "export_dirs",
    "holds_saved_model",
    "latest_version_dir",
    "load_backbone",
    "read_metadata",
]
