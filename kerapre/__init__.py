"""kerapre: pretrain a Keras 3 backbone, export it, reload it frozen or trainable, fine-tune it.

Examples:

```python
import kerapre

run = kerapre.pretrain_cnn(model_dir="runs/fashion")               # Fashion-MNIST, 2 epochs
paths = kerapre.export(run.model, "cnn_fashion", label_names=run.label_names)
backbone = kerapre.load_backbone(paths["backbone"], trainable=False)
model = kerapre.tasks.ImageClassifier(backbone, num_classes=10)
```
"""

import importlib
import os as _os

__version__ = "0.1.0"

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kerapre.errors import ConfigError, DataError, ExportError, KerapreError, TrainingError  # noqa: E402

# Imported eagerly: the package `kerapre.export` would otherwise shadow the function, and
# importing models, tasks and training registers their classes (layers, schedules), so
# `.keras` files load.
from kerapre import models, tasks, training  # noqa: E402
from kerapre.export import export, load_backbone  # noqa: E402

# The rest of the public API, imported on first use.
_LAZY = {
    "config": ("kerapre.config", None),
    "data": ("kerapre.data", None),
    "distribute": ("kerapre.distribute", None),
    "pretrain_cnn": ("kerapre.workflows.pretrain_cnn", "pretrain_cnn"),
    "pretrain_ssl": ("kerapre.workflows.pretrain_ssl", "pretrain_ssl"),
    "finetune_image": ("kerapre.workflows.finetune_image", "finetune_image"),
    "pretrain_bert": ("kerapre.workflows.pretrain_bert", "pretrain_bert"),
    "finetune_text": ("kerapre.workflows.finetune_text", "finetune_text"),
    "load_encoder": ("kerapre.workflows.finetune_text", "load_encoder"),
    "predict_text": ("kerapre.workflows.predict", "predict_text"),
    "extract_features": ("kerapre.workflows.features", "extract_features"),
    "extract_text_features": ("kerapre.workflows.features", "extract_text_features"),
    "label_efficiency": ("kerapre.report.label_efficiency", "label_efficiency"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'kerapre' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = ["ConfigError", "DataError", "ExportError", "KerapreError", "TrainingError", "export", "load_backbone", "models", "tasks", "training", *_LAZY]
