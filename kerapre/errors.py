"""The errors kerapre raises for bad input.

Every message is one line that says what is wrong and what to do next; the CLI
prints it as ``kerapre: error: <message>`` and exits with status 2.
"""


class KerapreError(Exception):
    """Base class of the errors caused by the user's input, not by a bug."""


class ConfigError(KerapreError, ValueError):
    """A config file, a ``key=value`` override or an argument is malformed."""


class DataError(KerapreError, ValueError):
    """A data set is unknown, missing, empty or of the wrong shape."""


class ExportError(KerapreError, ValueError):
    """An export directory exists, is incomplete or is not a kerapre export."""


class TrainingError(KerapreError):
    """Training cannot go on (the loss became NaN) or cannot resume (a backup of another run)."""


class ArtifactError(DataError, ExportError):
    """A path does not exist or holds something other than what was asked for (a run, an
    export, a checkpoint): both a ``DataError`` and an ``ExportError``, as the loaders that
    raise it raised one or the other."""


def first_line(error):
    """The first line of a library's error message (at most 200 characters), to quote inside
    kerapre's one-line errors."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
