"""A user's own files, prepared once into the cache as a TFDS set and read from there.

An image folder or a text table is converted the first time it is used into
``<data_dir>/user/<kind>_<name>_<hash of path and options>/<fingerprint>/1.0.0/`` (TFDS's record files and
``dataset_info.json``), then read with ``tfds.builder_from_directory`` like any prepared set.
The fingerprint covers every file's path, size and modification time (``mtime_ns``), so an
edited, added or removed file prepares the set again and the stale version is then removed;
other options (split fractions, columns) make another entry.
Preparing writes into a temporary directory renamed into place only when complete, and a
lock file (in ``<data_dir>/user/.locks/``) makes concurrent processes (the workers of a
cluster sharing a cache) prepare once: the first prepares, the others wait and read what it
wrote.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import random
import re
import shutil
import tempfile

import numpy as np
import tensorflow_datasets as tfds

from kerapre.errors import DataError

# Part of every fingerprint: raise it when what a prepared set holds changes.
FORMAT_VERSION = 1
USER_DIR = "user"
VERSION = "1.0.0"


def file_fingerprint(paths, **options):
    """A hex digest of ``paths``' absolute paths, sizes and ``mtime_ns``, and ``options``.

    Args:
        paths: the files a set or corpus is read from.
        **options: anything else that changes what is prepared from them (JSON-serialisable).

    Examples:

    ```python
    file_fingerprint(["train.csv"], text_column="review")  # "3f9c..." (64 hex digits)
    ```
    """
    entries = []
    for path in paths:
        stat = os.stat(path)
        entries.append([os.path.abspath(path), stat.st_size, stat.st_mtime_ns])
    payload = json.dumps({"format": FORMAT_VERSION, "files": entries, "options": options}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class UserSetBuilder(tfds.dataset_builders.AdhocBuilder, skip_registration=True):
    """TFDS's ``AdhocBuilder`` with supervised keys and metadata, and the examples kept in the
    order given (``disable_shuffling``), so a prepared split reads back in file order."""

    def __init__(self, *, supervised_keys, metadata, **kwargs):
        self._supervised_keys = supervised_keys
        self._metadata = metadata
        super().__init__(disable_shuffling=True, **kwargs)

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=self._description,
            features=self._feature_spec,
            supervised_keys=self._supervised_keys,
            disable_shuffling=True,
            metadata=tfds.core.MetadataDict(self._metadata),
        )


def prepared_user_set(source, kind, fingerprint, build, data_dir, log=print, variant=None):
    """The prepared TFDS set of a user's ``source``, preparing it first if needed.

    Args:
        source: the user's file or directory (names the cache entry).
        kind: ``"images"`` or ``"table"``.
        fingerprint: ``file_fingerprint`` of what ``source`` is read from.
        build: called only when preparing; returns ``(features, {split: iterable of (key,
            example)}, supervised_keys, metadata)``. A ``DataError`` it raises, at once or
            while the examples are generated, leaves nothing behind.
        data_dir: the cache root (``default_data_dir()``).
        log: where the one line saying that the set is being prepared goes.
        variant: the options that shape the set (columns, fractions): each variant of a
            source is its own cache entry, so two commands reading it two ways do not
            replace each other's copy; within an entry, a new fingerprint replaces the old.

    Returns:
        A ``tfds`` read-only builder of the prepared set.
    """
    entry = os.path.join(data_dir, USER_DIR, _entry_name(source, kind, variant))
    prepared = os.path.join(entry, fingerprint[:16])
    final = os.path.join(prepared, VERSION)  # TFDS reads <...>/<version>
    if not _is_prepared(final):
        locks = os.path.join(data_dir, USER_DIR, ".locks")
        os.makedirs(locks, exist_ok=True)
        with _locked(os.path.join(locks, os.path.basename(entry))):
            if not _is_prepared(final):
                log(f"[data] preparing {source} into {final} (once; prepared again when a file changes)")
                os.makedirs(entry, exist_ok=True)
                try:
                    with _random_state_kept():
                        _prepare(entry, prepared, kind, build, homepage=f"file://{os.path.abspath(source)}")
                finally:
                    if not os.listdir(entry):
                        os.rmdir(entry)  # a first preparation that failed leaves nothing
            for name in os.listdir(entry):
                if name != os.path.basename(prepared):
                    shutil.rmtree(os.path.join(entry, name), ignore_errors=True)  # stale or abandoned
    return tfds.builder_from_directory(final)


def _prepare(entry, prepared, kind, build, homepage):
    scratch = tempfile.mkdtemp(prefix=".incomplete-", dir=entry)
    failures = []

    def guarded(examples):
        # TFDS re-raises a generator's error with its own context around it: keep ours whole.
        try:
            yield from examples
        except DataError as error:
            failures.append(error)
            raise

    try:
        features, splits, supervised_keys, metadata = build()
        builder = UserSetBuilder(
            name=f"user_{kind}", version=VERSION, features=features, homepage=homepage,
            split_datasets={split: guarded(examples) for split, examples in splits.items()},
            supervised_keys=supervised_keys, metadata=metadata, data_dir=scratch,
            description=f"A user's {kind}, prepared by kerapre.",
        )
        try:
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(
                    try_download_gcs=False, compute_stats=tfds.download.ComputeStatsMode.SKIP
                )
            )
        except Exception:
            if failures:
                raise failures[0] from None
            raise
        os.makedirs(prepared, exist_ok=True)
        os.rename(builder.data_dir, os.path.join(prepared, VERSION))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _is_prepared(path):
    return os.path.isfile(os.path.join(path, "dataset_info.json"))


def _entry_name(source, kind, variant):
    real = os.path.realpath(source)
    slug = re.sub(r"[^a-z0-9]+", "_", os.path.basename(real.rstrip(os.sep)).lower()).strip("_")[:40] or "data"
    key = json.dumps([real, variant], sort_keys=True)
    return f"{kind}_{slug}_{hashlib.sha256(key.encode()).hexdigest()[:10]}"


@contextlib.contextmanager
def _random_state_kept():
    """Keeps Python's and NumPy's global random streams as they were: preparing draws from
    them (TFDS, temporary names), and a run seeded before reading the set must initialise
    its model the same whether the set was prepared just now or earlier."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextlib.contextmanager
def _locked(path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
