"""Writing a directory atomically: build it beside its final place, then rename it in.

Used by the exports and by the prepared pretraining data, so a reader never sees a
half-written directory and a failed write never loses the one it would replace.
"""

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_directory(final_dir, check=None):
    """Yields a temporary directory that becomes ``final_dir`` when the block succeeds.

    On an exception the temporary directory is removed and ``final_dir`` (if any) is left
    untouched. An existing ``final_dir`` is replaced only after the new one is complete.

    Args:
        final_dir: where the directory ends up.
        check: ``check(final_dir)`` raises if ``final_dir`` may not be replaced; it runs
            before the block and again after it (the place may have been taken meanwhile).
    """
    final_dir = os.path.abspath(final_dir)
    parent = os.path.dirname(final_dir)
    if check:
        check(final_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{os.path.basename(final_dir)}-", dir=parent)
    os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide the directory from other users
    try:
        yield tmp
        if check:
            check(final_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if os.path.exists(final_dir):
        old = tempfile.mkdtemp(prefix=f".old-{os.path.basename(final_dir)}-", dir=parent)
        os.rmdir(old)
        os.rename(final_dir, old)
    os.rename(tmp, final_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)
