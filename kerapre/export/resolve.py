"""What a path holds: the one place kerapre looks at a path and names the artefact in it.

Every command and loader (``load_backbone``, ``load_encoder``, ``export``, ``evaluate``,
``predict``, the reports, fine-tuning's ``backbone``) calls :func:`resolve` and then acts on
the ``Artifact`` it returns, so a new kind of checkpoint is one entry here. It reads only
small JSON files (``run.json``, ``kerapre.json``), never a model.

Kinds:

- ``run``: a training run directory (``run.json``, read as a ``RunRecord``; a run stopped
  before its end has only ``config.yaml`` and its checkpoints, and no record; a directory
  with a BERT ``pretrainer.keras`` counts as a run without a record);
- ``checkpoint``: a run's weights checkpoint (``.weights.h5``);
- ``keras``: a ``.keras`` file, or a ``kerapre export --format keras`` directory (or its
  parent: the highest version);
- ``serving``, ``backbone``, ``hub``: kerapre's SavedModel exports (a version directory or
  its parent; for ``hub`` also its ``encoder/``);
- ``hf_bert``: a Hugging Face directory (``config.json`` with a ``model_type``; published
  encoders such as ``minilm_l6`` name one, see ``kerapre.export.published``);
- ``google_bert``: Google's original BERT checkpoint (``bert_config.json``,
  ``bert_model.ckpt.*``);
- ``keras_hub_preset``: a keras-hub preset directory (``config.json`` of a Keras object);
- ``preset_handle``: a keras-hub preset name or handle (``bert_tiny_en_uncased``,
  ``kaggle://...``, ``hf://...``), loaded by keras-hub's ``from_preset`` (online);
- ``tf_hub_bert``: a SavedModel in the TF Hub BERT API (Google's ``bert_en_uncased_L-*``,
  Model Garden exports: ``do_lower_case`` or ``assets/vocab.txt``), or a ``https://tfhub.dev/``
  or ``https://www.kaggle.com/models/`` handle of one (downloaded by ``tensorflow_hub``, online);
- ``saved_model``: another SavedModel kerapre did not write.

Examples:

```python
artifact = resolve("saved_models/rotten_tomatoes")
artifact.kind, artifact.path           # ('serving', 'saved_models/rotten_tomatoes/3')
resolve("runs/bert_pretrain").record.task   # 'bert_pretrain'
```
"""

import dataclasses
import os
import typing

from kerapre.errors import ArtifactError
from kerapre.export.google_bert import casing_from_name, is_google_bert_directory
from kerapre.export.hf_bert import hf_lowercase, hf_strip_accents, is_hf_bert_directory
from kerapre.export.hub_layout import ENCODER_DIR, ENCODER_FORMAT, PREPROCESSOR_FORMAT
from kerapre.export.layout import latest_version_dir, read_metadata
from kerapre.export.published import PUBLISHED, published_directory
from kerapre.export.tf_hub_bert import TF_HUB_HANDLES, is_tf_hub_bert_directory, tf_hub_lowercase
from kerapre.run_record import (
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    MODEL_FILE,
    PRETRAINER_FILE,
    RUN_FILE,
    RunRecord,
    read_run_record,
)

KINDS = ("run", "checkpoint", "keras", "serving", "backbone", "hub", "hf_bert", "google_bert", "keras_hub_preset",
         "preset_handle", "tf_hub_bert", "saved_model")
HANDLE_SCHEMES = ("kaggle://", "hf://", "modelscope://")
KERAS_FILE = MODEL_FILE  # also the file of a `kerapre export --format keras` version
SAVED_MODEL_FILE = "saved_model.pb"
# What each kind is, for error messages.
DESCRIPTIONS = {
    "run": "a training run directory",
    "checkpoint": "a weights checkpoint",
    "keras": "a .keras model",
    "serving": "a TF Serving export",
    "backbone": "an image backbone export",
    "hub": "a TF Hub export",
    "hf_bert": "a Hugging Face directory",
    "google_bert": "a Google BERT checkpoint",
    "keras_hub_preset": "a keras-hub preset directory",
    "preset_handle": "a keras-hub preset name or handle",
    "tf_hub_bert": "a TF Hub BERT SavedModel",
    "saved_model": "a SavedModel not written by kerapre",
}


@dataclasses.dataclass(frozen=True)
class Artifact:
    """What :func:`resolve` found.

    Attributes:
        kind: one of ``KINDS``.
        path: the thing itself: the run directory, the ``.keras`` or checkpoint file, the
            export's version directory, the preset directory.
        given: the path as it was passed.
        record: a run's ``RunRecord`` (``None`` for other kinds, and for a run stopped
            before its end).
        metadata: an export's ``kerapre.json`` (``None`` where there is none).
    """

    kind: str
    path: str
    given: str
    record: typing.Optional[RunRecord] = None
    metadata: typing.Optional[dict] = None

    @property
    def task(self):
        """The workflow that wrote it: the run's task, or what the export records."""
        return self.recorded("task")

    @property
    def lowercase(self):
        """Whether its vocabulary is uncased, as recorded (``None``: not recorded)."""
        return self.recorded("lowercase")

    @property
    def strip_accents(self):
        """Whether its text has accents stripped, where it says so apart from ``lowercase``
        (a Hugging Face ``strip_accents``; ``None``: as ``lowercase``)."""
        return self.recorded("strip_accents")

    @property
    def label_names(self):
        """The class names it records, in class-id order (``None``: not recorded)."""
        return self.recorded("label_names")

    def recorded(self, key):
        """What its run record (for a run) or its ``kerapre.json`` (for an export) says of ``key``."""
        if self.record is not None:
            return getattr(self.record, key, None)
        return (self.metadata or {}).get(key)

    @property
    def directory(self):
        """The directory that holds it (the path itself for directories)."""
        return self.path if os.path.isdir(self.path) else os.path.dirname(self.path)

    def file(self, name):
        """``name`` inside :attr:`directory`, if it exists there (else ``None``)."""
        candidate = os.path.join(self.directory, name)
        return candidate if os.path.exists(candidate) else None

    def describe(self):
        """What it is, in words: ``a TF Serving export (saved_models/x/2)``."""
        task = f" of a {self.task} run" if self.kind != "run" and self.task else ""
        what = f"a {self.task} run" if self.kind == "run" and self.task else DESCRIPTIONS[self.kind]
        return f"{what}{task} ({self.path})"

    def expect(self, kinds, what, fix):
        """Returns itself if its kind is one of ``kinds``; else raises ``ArtifactError``
        ``"<given> is <what it is>, not <what>: <fix>"``."""
        if self.kind in kinds:
            return self
        raise ArtifactError(f"{self.given} is {self.describe()}, not {what}: {fix}")


def resolve(path, hint=None):
    """Names what ``path`` holds.

    Args:
        path: a file or directory.
        hint: what to pass instead, for the error when ``path`` does not exist.

    Returns:
        An ``Artifact``.

    Raises:
        ArtifactError: if ``path`` does not exist or holds nothing kerapre can read.
    """
    given = os.fspath(path)
    if not os.path.exists(given) and given in PUBLISHED:
        directory = published_directory(given)
        return Artifact("hf_bert", directory, given, metadata=_hf_casing(directory))
    if not os.path.exists(given) and given.startswith(TF_HUB_HANDLES):
        return Artifact("tf_hub_bert", given, given, metadata={"lowercase": _casing_of_handle(given)})
    if not os.path.exists(given) and _is_preset_handle(given):
        return Artifact("preset_handle", given, given)
    if not os.path.exists(given):
        raise ArtifactError(f"{given} does not exist: {hint or 'pass a run directory, an export or a .keras file'}")
    artifact = _inspect(given)
    if artifact is None:
        raise ArtifactError(
            f"{given} holds no model kerapre can read (no {RUN_FILE}, .keras file, SavedModel export, checkpoint "
            "or keras-hub preset): pass a run directory, an export or a .keras file"
        )
    return artifact


def _inspect(path):
    """The ``Artifact`` at an existing ``path``, or ``None``."""
    if os.path.isfile(path):
        if path.endswith(".keras"):
            return Artifact("keras", path, path, metadata=read_metadata(path))
        if path.endswith(".weights.h5"):
            return Artifact("checkpoint", path, path)
        return None
    if os.path.isfile(os.path.join(path, RUN_FILE)):
        return Artifact("run", path, path, record=read_run_record(path))
    if os.path.isfile(os.path.join(path, CONFIG_FILE)) and os.path.isdir(os.path.join(path, CHECKPOINTS_DIR)):
        return Artifact("run", path, path)  # stopped before its end: no record yet
    if os.path.isfile(os.path.join(path, PRETRAINER_FILE)):
        return Artifact("run", path, path)  # a BERT pretraining run without its record
    if is_google_bert_directory(path):
        return Artifact("google_bert", path, path, metadata={"lowercase": casing_from_name(path)})
    if is_hf_bert_directory(path):
        return Artifact("hf_bert", path, path, metadata=_hf_casing(path))
    if os.path.isfile(os.path.join(path, "config.json")):
        return Artifact("keras_hub_preset", path, path)
    version = latest_version_dir(path)
    if os.path.isfile(os.path.join(version, KERAS_FILE)):
        file = os.path.join(version, KERAS_FILE)
        return Artifact("keras", file, path, metadata=read_metadata(file))
    for saved_model in (version, os.path.join(version, ENCODER_DIR)):
        if os.path.isfile(os.path.join(saved_model, SAVED_MODEL_FILE)):
            return _saved_model(saved_model, path)
    return None


def _is_preset_handle(name):
    """A keras-hub preset handle, or the name of one of its BERT presets."""
    if name.startswith(HANDLE_SCHEMES):
        return True
    if os.sep in name:
        return False
    import keras_hub

    return name in keras_hub.models.BertBackbone.presets


def _saved_model(directory, given):
    metadata = read_metadata(directory)
    fmt = (metadata or {}).get("format")
    if fmt in ("serving", "backbone"):
        return Artifact(fmt, directory, given, metadata=metadata)
    if fmt in (ENCODER_FORMAT, PREPROCESSOR_FORMAT):
        version = os.path.dirname(os.path.normpath(directory))
        return Artifact("hub", version, given, metadata=read_metadata(os.path.join(version, ENCODER_DIR)))
    if fmt is None and is_tf_hub_bert_directory(directory):
        lowercase = tf_hub_lowercase(directory)
        lowercase = casing_from_name(given) if lowercase is None else lowercase
        return Artifact("tf_hub_bert", directory, given, metadata={"lowercase": lowercase})
    return Artifact("saved_model", directory, given, metadata=metadata)


def _hf_casing(directory):
    return {"lowercase": hf_lowercase(directory), "strip_accents": hf_strip_accents(directory)}


def _casing_of_handle(handle):
    """The casing a handle's model name says (``.../bert_en_uncased_L-12_H-768_A-12/4``: its
    last part that is not a version number), by ``casing_from_name``."""
    parts = [part for part in handle.rstrip("/").split("/") if part and not part.isdigit()]
    return casing_from_name(parts[-1]) if parts else None


__all__ = ["Artifact", "DESCRIPTIONS", "KINDS", "resolve"]
