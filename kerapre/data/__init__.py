"""Data sets and input pipelines.

Importing this package registers the local TFDS builders ``mnist_5k`` and
``fashion_mnist_local``.
"""

from kerapre.data.builders import FashionMnistLocal, Mnist5k
from kerapre.data.images import (
    LOCAL_DATASETS,
    ImageDatasetInfo,
    dataset_to_numpy,
    default_data_dir,
    few_labels_per_class,
    image_dataset_info,
    image_pipeline,
    load_image_dataset,
    split_labelled_pool,
)

__all__ = [
    "LOCAL_DATASETS",
    "FashionMnistLocal",
    "ImageDatasetInfo",
    "Mnist5k",
    "dataset_to_numpy",
    "default_data_dir",
    "few_labels_per_class",
    "image_dataset_info",
    "image_pipeline",
    "load_image_dataset",
    "split_labelled_pool",
]
