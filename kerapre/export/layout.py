"""Versioned export directories, written atomically, with a metadata file.

TF Serving watches ``<base>/<name>/`` and serves the highest integer sub-directory.
kerapre writes every export into a hidden temporary directory beside its final place
and renames it into place only once complete, so a reader (or TF Serving) never sees
a half-written version and an existing version is never lost to a failed export.
"""

import datetime
import json
import os

from kerapre.atomic import atomic_directory as _atomic_directory
from kerapre.errors import ExportError
from kerapre.run_record import OLD_SPELLINGS

METADATA_FILE = "kerapre.json"


def existing_versions(base_dir):
    """The integer versions present in ``base_dir``, sorted."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(int(entry) for entry in os.listdir(base_dir) if entry.isdigit())


def resolve_version(base_dir, version=None, overwrite=False):
    """The version to write: the next integer by default, or ``version`` if it is free.

    Raises ``ExportError`` if ``version`` exists and ``overwrite`` is false.
    """
    versions = existing_versions(base_dir)
    if version is None:
        return (versions[-1] + 1) if versions else 1
    if not isinstance(version, int) or version < 1:
        raise ExportError(f"export version must be a positive integer, got {version!r}")
    if version in versions and not overwrite:
        raise ExportError(
            f"{os.path.join(base_dir, str(version))} already exists: "
            "pass --overwrite to replace it or omit --version to write the next one"
        )
    return version


def atomic_directory(final_dir, overwrite=False):
    """``kerapre.atomic.atomic_directory`` for an export: an existing ``final_dir`` is an
    ExportError unless ``overwrite``."""

    def check(path):
        if os.path.exists(path) and not overwrite:
            raise ExportError(f"{path} already exists: pass --overwrite to replace it")

    return _atomic_directory(final_dir, check)


def write_metadata(directory, metadata):
    """Writes ``metadata`` (plus the kerapre version and a timestamp) as ``kerapre.json``."""
    from kerapre import __version__

    record = {
        "kerapre_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **metadata,
    }
    with open(os.path.join(directory, METADATA_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, default=_jsonable)
    return record


def _jsonable(value):
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_metadata(path):
    """The ``kerapre.json`` of an export: ``path`` may be the export directory, its
    ``assets.extra`` holder (SavedModels) or a ``.keras`` file beside it. Keys of kerapre 0.1
    (``vocab_size``, ``vocab_hash``, ``seq_length``) are read under today's spelling."""
    candidates = []
    if os.path.isdir(path):
        candidates = [
            os.path.join(path, "assets.extra", METADATA_FILE),
            os.path.join(path, METADATA_FILE),
        ]
    else:
        candidates = [os.path.join(os.path.dirname(path), METADATA_FILE)]
    for candidate in candidates:
        if os.path.exists(candidate):
            with open(candidate, encoding="utf-8") as f:
                record = json.load(f)
            # Exports written by kerapre 0.1 spell some keys as run.json then did.
            return {OLD_SPELLINGS.get(key, key): value for key, value in record.items()}
    return None


def latest_version_dir(path):
    """``path`` itself if it is an export, or its highest integer version sub-directory."""
    versions = existing_versions(path)
    if versions and not _is_export(path):
        return os.path.join(path, str(versions[-1]))
    return path


def _is_export(path):
    return os.path.exists(os.path.join(path, "saved_model.pb")) or os.path.exists(
        os.path.join(path, "model.keras")
    )
