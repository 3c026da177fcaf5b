"""Config keys for a user's own files: image folders and text tables (see docs/datasets.md)."""

import dataclasses
import typing

from kerapre.config.loader import check

# The keys ``kerapre evaluate --set`` takes: how a user's folder or table is read.
EVALUATE_DATA_KEYS = ("resize", "validation_fraction", "test_fraction", "text_column", "label_column",
                      "second_column", "header")


def _check_fractions(config):
    prefix = config.KEY_PREFIX
    for key in ("validation_fraction", "test_fraction"):
        check(0 <= getattr(config, key) < 1, f"{prefix}{key} must be in [0, 1)")
    check(config.validation_fraction + config.test_fraction < 1,
          f"{prefix}validation_fraction + {prefix}test_fraction must leave some examples for train")


@dataclasses.dataclass
class ImageFolderKeys:
    """Keys of a data section that reads an image folder (they do nothing for other sets,
    except ``resize``).

    Args:
        resize: resize images to the model's input size (bilinear) instead of refusing
            another size or images of mixed sizes.
        validation_fraction: for an image folder without a ``validation/`` tree: the part
            of each class's images held out as ``validation`` (fixed seed).
        test_fraction: the same for ``test``.
    """

    KEY_PREFIX = "data."  # how messages name the keys (a report's are top-level: "")

    resize: bool = False
    validation_fraction: float = 0.1
    test_fraction: float = 0.1

    def validate(self):
        _check_fractions(self)


@dataclasses.dataclass
class TextTableKeys:
    """Keys of a data section that reads a CSV, TSV or JSON Lines table (ignored for other sets).

    Args:
        text_column: the column (a name, or a 0-based position) or JSON field of the text.
        label_column: the column of the label: strings or integers; the sorted distinct
            labels of the training rows are the class names.
        second_column: the column of a sentence pair's second text (``null``: single texts).
        header: the first row of a CSV or TSV names the columns (``false``: give positions).
        validation_fraction: for a single table, or a directory without ``validation.*``: the
            part of each class's rows held out as ``validation`` (fixed seed).
        test_fraction: the same for ``test``.
    """

    KEY_PREFIX = "data."

    text_column: typing.Union[int, str] = "text"
    label_column: typing.Union[int, str] = "label"
    second_column: typing.Union[int, str, None] = None
    header: bool = True
    validation_fraction: float = 0.1
    test_fraction: float = 0.1

    def validate(self):
        _check_fractions(self)
        prefix = self.KEY_PREFIX
        columns = [c for c in (self.text_column, self.label_column, self.second_column) if c is not None]
        check(len(set(columns)) == len(columns),
              f"{prefix}text_column, {prefix}label_column and {prefix}second_column must name different columns")
        for key in ("text_column", "label_column", "second_column"):
            value = getattr(self, key)
            check(not isinstance(value, int) or value >= 0, f"{prefix}{key} must be a name or a position >= 0")
            check(self.header or value is None or isinstance(value, int),
                  f"{prefix}header is false: {prefix}{key} must be a 0-based position")
