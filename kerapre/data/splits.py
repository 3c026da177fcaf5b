"""Preparing a TFDS builder and reading one of its splits, with clear errors."""

import tensorflow_datasets as tfds

from kerapre.errors import DataError


def prepare_builder(builder, local):
    """Prepares ``builder`` unless it already is.

    Args:
        builder: a ``tfds.core.DatasetBuilder``.
        local: one of kerapre's offline builders: its source files are checked first (a
            missing file is a one-line DataError now, not one from inside TFDS's split
            generation, which prefixes the message with its own context), nothing is
            fetched from GCS, and no statistics are computed (a second pass over the data
            that nothing here reads). Any other builder downloads as TFDS does.
    """
    if builder.is_prepared():
        return
    if not local:
        builder.download_and_prepare()
        return
    type(builder).locate_sources()
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            try_download_gcs=False, compute_stats=tfds.download.ComputeStatsMode.SKIP
        )
    )



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
