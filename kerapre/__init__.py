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

# Imported eagerly for one reason: they register kerapre's Keras classes (layers, models,
# the learning-rate schedule), so `keras.saving.load_model` reads kerapre's `.keras` files after
# `import kerapre`. Everything else loads on first use, so `from kerapre.config import ...`
# does not pull in training, export or the workflows.
from kerapre import models, tasks  # noqa: E402
from kerapre.training import schedules as _schedules  # noqa: E402, F401

# The rest of the public API, imported on first use.
_LAZY = {
    "config": ("kerapre.config", None),
    "data": ("kerapre.data", None),
    "distribute": ("kerapre.distribute", None),
    "training": ("kerapre.training", None),
    # The package, callable as its `export` function (see kerapre/export/__init__.py).
    "export": ("kerapre.export", None),
    "load_backbone": ("kerapre.export.reload", "load_backbone"),
    "load_encoder": ("kerapre.export.encoders", "load_encoder"),
    "pretrain_cnn": ("kerapre.workflows.pretrain_cnn", "pretrain_cnn"),
    "pretrain_ssl": ("kerapre.workflows.pretrain_ssl", "pretrain_ssl"),
    "finetune_image": ("kerapre.workflows.finetune_image", "finetune_image"),
    "pretrain_bert": ("kerapre.workflows.pretrain_bert", "pretrain_bert"),
    "finetune_text": ("kerapre.workflows.finetune_text", "finetune_text"),
    "predict_text": ("kerapre.workflows.predict", "predict_text"),
    "extract_features": ("kerapre.report.features", "extract_features"),
    "extract_text_features": ("kerapre.report.features", "extract_text_features"),
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


__all__ = ["ConfigError", "DataError", "ExportError", "KerapreError", "TrainingError", "models", "tasks", *_LAZY]
