"""Resuming a label-efficiency report: the runs it already made are kept, not made again.

A full report runs for hours on a CPU, and its CSV is rewritten after every run. Run the same
command again, after an interruption or with more seeds, label counts or methods, and the runs
already in that CSV are taken from it, provided nothing that decides them changed. That is, per
backbone (and for ``scratch``): the config (less ``backbones``, ``methods``,
``labels_per_class`` and ``seeds``, which say which runs to make, not how each turns out), the
target's examples (pool, validation and test), and the backbone's files (paths, sizes and
modification times; ``scratch`` of a text report takes the first backbone's vocabulary, so its
files too). These digests are kept beside the CSV, in ``label_efficiency.fingerprint``; the runs
of a backbone whose digest changed are made again.

Examples:

```python
fingerprints = report_fingerprints(config, target, {"simclr": "runs/simclr"})
earlier = earlier_runs("runs/report", "label_efficiency.csv", fingerprints, total=60)
```
"""

import csv
import dataclasses
import hashlib
import json
import os

import numpy as np

from kerapre.data.user_cache import file_fingerprint
from kerapre.errors import DataError
from kerapre.export.resolve import resolve
from kerapre.report.pages import ALL
from kerapre.report.summary import NO_BACKBONE
from kerapre.report.tables import write_csv

FINGERPRINT_FILE = "label_efficiency.fingerprint"
WHICH_RUNS = ("backbones", "methods", "labels_per_class", "seeds")  # config keys that do not change a run
_INTS = ("train_examples", "seed")
_FLOATS = ("validation_accuracy", "test_accuracy", "seconds")


def report_fingerprints(config, target, backbones, scratch_uses_first_backbone=False):
    """``{backbone name, or "none" for scratch: hex digest}`` of what decides its runs.

    Args:
        config: the report's config.
        target: its ``Target`` (the examples themselves are digested).
        backbones: ``{name: path}``, in the config's order.
        scratch_uses_first_backbone: whether ``scratch`` takes something (the vocabulary)
            from the first backbone.
    """
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in WHICH_RUNS}
    common = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for split in ("pool", "val", "test"):
        _digest_arrays(common, getattr(target, f"x_{split}"))
        _digest_arrays(common, getattr(target, f"y_{split}"))

    def with_files(name, path):
        digest = common.copy()
        digest.update(f"{name}={path}:{_files_fingerprint(resolve(path).path)}".encode())
        return digest.hexdigest()

    fingerprints = {name: with_files(name, path) for name, path in backbones.items()}
    first = next(iter(backbones.items()), None)
    fingerprints[NO_BACKBONE] = with_files(*first) if scratch_uses_first_backbone and first else common.hexdigest()
    return fingerprints


def cell(backbone, method, labels_per_class, seed):
    """The key of one run, from values or from a CSV row's strings."""
    return backbone, method, str(labels_per_class), str(seed)


def earlier_runs(output_dir, csv_file, fingerprints, total, log=print):
    """The runs in ``output_dir/csv_file`` whose backbone's fingerprint is unchanged, by ``cell``.

    Rows of a changed backbone are dropped from the CSV, then ``fingerprints`` are written
    beside it.

    Raises:
        DataError: if the CSV cannot be read back (edited by hand, cut short).
    """
    csv_path = os.path.join(output_dir, csv_file)
    mark = os.path.join(output_dir, FINGERPRINT_FILE)
    kept, dropped = [], 0
    if os.path.exists(csv_path):
        try:
            with open(mark, encoding="utf-8") as f:
                before = json.load(f)
        except (OSError, ValueError):
            before = {}  # none, or a kerapre that kept none: nothing can be vouched for
        try:
            with open(csv_path, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    name = row["backbone"]
                    if name in fingerprints and before.get(name) == fingerprints[name]:
                        kept.append(_typed(row))
                    else:
                        dropped += 1
        except (KeyError, TypeError, ValueError, csv.Error) as e:
            raise DataError(f"cannot resume the report from {csv_path} ({type(e).__name__}: {e}): delete it to "
                            "make every run again") from None
        if dropped:
            log(f"[report] {dropped} runs in {csv_path} are of another config, target or backbone: left out")
            if kept:
                write_csv(kept, csv_path)
            else:
                os.remove(csv_path)
        if kept:
            log(f"[report] resuming: {len(kept)} of {total} runs are in {csv_path}, made with the same config, "
                "target and backbones (delete it to make them again)")
    with open(mark + ".tmp", "w", encoding="utf-8") as f:
        json.dump(fingerprints, f, indent=1, sort_keys=True)
    os.replace(mark + ".tmp", mark)
    return {cell(r["backbone"], r["method"], r["labels_per_class"], r["seed"]): r for r in kept}


def _typed(row):
    """A CSV row with the types ``label_efficiency`` records."""
    row = dict(row)
    for key in _INTS:
        row[key] = int(row[key])
    for key in _FLOATS:
        row[key] = float(row[key])
    if row["labels_per_class"] != ALL:
        row["labels_per_class"] = int(row["labels_per_class"])
    row["best_step"] = int(row["best_step"]) if row["best_step"] else ""
    return row


def _files_fingerprint(path):
    """``file_fingerprint`` of every file under ``path`` (a file or directory); a name that is
    not on disk (a keras-hub or TF Hub handle) stands for itself."""
    if os.path.isfile(path):
        return file_fingerprint([path])
    if not os.path.isdir(path):
        return path
    files = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
    return file_fingerprint(sorted(files))


def _digest_arrays(digest, x):
    """Adds ``x`` (an array, a tuple of arrays or a dict of them) to ``digest``."""
    if isinstance(x, dict):
        for key in sorted(x):
            digest.update(key.encode())
            _digest_arrays(digest, x[key])
        return
    if isinstance(x, tuple):
        for part in x:
            _digest_arrays(digest, part)
        return
    array = np.asarray(x)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    if array.dtype == object:
        for item in array.ravel():
            data = item if isinstance(item, bytes) else str(item).encode()
            digest.update(len(data).to_bytes(8, "little") + data)
    else:
        digest.update(np.ascontiguousarray(array).tobytes())
