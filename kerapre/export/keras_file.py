"""The native ``.keras`` export: the whole model, loadable with ``safe_mode`` on."""

import os

from kerapre.export.layout import write_metadata
from kerapre.run_record import MODEL_FILE as KERAS_FILE


def write_keras(model, directory, metadata):
    """Saves ``model`` as ``directory/model.keras`` with ``kerapre.json`` beside it."""
    model.save(os.path.join(directory, KERAS_FILE))
    return write_metadata(directory, {**metadata, "format": "keras"})
