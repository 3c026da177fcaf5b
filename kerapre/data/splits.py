"""Reading one split of a prepared TFDS builder, with a clear error for a bad split name."""

from kerapre.errors import DataError


def read_split(builder, name, split, **as_dataset_kwargs):
    """``builder.as_dataset(split=split, shuffle_files=False, ...)``, or a one-line DataError
    listing the real splits when ``split`` names none of them.

    Args:
        builder: a prepared ``tfds.core.DatasetBuilder``.
        name: the data set's name, for the message.
        split: a TFDS split, slicing allowed (``train[:90%]``).
        **as_dataset_kwargs: passed on (e.g. ``as_supervised=True``).
    """
    try:
        return builder.as_dataset(split=split, shuffle_files=False, **as_dataset_kwargs)
    except ValueError as error:
        # TFDS reports a bad split as a plain ValueError deep in its split parser.
        if "split" not in str(error).lower():
            raise
        raise DataError(
            f"{name} has no split {split!r}: use one of {sorted(builder.info.splits)}, "
            "optionally sliced like 'train[:90%]'"
        ) from None
