"""Accuracy of any trained classifier (run directory, ``.keras`` file, serving export), image or
text, on a data set: a named one or the user's own folder or table."""

import os
import types

import numpy as np

from kerapre.config.user_data import EVALUATE_DATA_KEYS
from kerapre.data import image_pipeline, load_image_dataset
from kerapre.data.image_folder import FolderOptions, is_image_folder
from kerapre.data.text_classification import load_text_classification, text_dataset_info
from kerapre.data.text_table import TableOptions, is_text_table
from kerapre.data.images import image_dataset_info
from kerapre.errors import DataError
from kerapre.export.classifiers import is_text_classifier, load_image_classifier, load_text_classifier
from kerapre.export.resolve import resolve

DATA_KEYS = EVALUATE_DATA_KEYS
_TEXT_BATCH = 256


def evaluate(model_path, data=None, split=None, batch_size=256, options=None):
    """Classifies every example of ``data[split]`` and returns the accuracy.

    Image classifiers read images, text classifiers (``finetune text`` runs and their
    exports) raw text through their own preprocessor. The data's classes are matched to the
    model's by name, so a table whose labels are ``neg``/``pos`` is scored against a model
    trained on it whatever the class order.

    Args:
        model_path: a run directory, a ``.keras`` file, or a TF Serving export (a version
            directory or its parent, meaning the highest version).
        data: a data set name, an image folder or a table (default: the run's own data, else
            ``mnist_5k`` for image models and ``rotten_tomatoes`` for text models).
        split: the split (default: the run's test split, else ``test``).
        batch_size: images per batch.
        options: ``{key: value}`` of ``DATA_KEYS`` for a folder or table (``resize``,
            ``text_column``, ...); a run's own data section is the default.

    Returns:
        ``{"model", "data", "split", "accuracy", "examples"}``.

    Raises:
        DataError: if the data's classes are not among the model's.

    Examples:

    ```python
    evaluate("runs/finetune_text", data="tickets.csv", options={"text_column": "body"})
    ```
    """
    unknown = sorted(set(options or {}) - set(DATA_KEYS))
    if unknown:
        raise DataError(f"evaluate takes no option {', '.join(unknown)}: use one of {', '.join(DATA_KEYS)}")
    if is_text_classifier(model_path):
        return _evaluate_text(model_path, data, split, options)
    return _evaluate_image(model_path, data, split, batch_size, options)


def _evaluate_image(model_path, data, split, batch_size, options):
    classify, image_shape, model_names, run_data = load_image_classifier(model_path)
    run_data = run_data or {}
    data = data or run_data.get("name") or "mnist_5k"
    split = split or run_data.get("eval_split") or "test"
    keys = _data_keys(run_data, data, options)
    folder = FolderOptions.from_config(types.SimpleNamespace(**keys))
    names = image_dataset_info(data, folder=folder).label_names
    to_model = _class_map(names, model_names, data, strict=is_image_folder(data))
    ds = image_pipeline(load_image_dataset(data, split, folder=folder), batch_size=batch_size, training=False,
                        image_shape=image_shape, resize=bool(keys.get("resize", False)))
    correct = examples = 0
    for images, labels in ds:
        class_ids = np.asarray(classify(images)).argmax(axis=-1)
        correct += int((class_ids == to_model[labels.numpy()]).sum())
        examples += int(labels.shape[0])
    return {"model": model_path, "data": data, "split": split,
            "accuracy": correct / max(examples, 1), "examples": examples}


def _evaluate_text(model_path, data, split, options):
    classify, model_names, pair = load_text_classifier(model_path)
    artifact = resolve(model_path)
    run_data = (artifact.record.config.get("data") if artifact.record is not None else None) or {}
    data = data or run_data.get("name") or "rotten_tomatoes"
    split = split or run_data.get("test_split") or "test"
    table = TableOptions.from_config(types.SimpleNamespace(**_data_keys(run_data, data, options)))
    info = text_dataset_info(data, table=table)
    if info.pair != pair:
        raise DataError(f"{model_path} classifies {'sentence pairs' if pair else 'single texts'} but {data} holds "
                        f"{'pairs' if info.pair else 'single texts'}: evaluate it on a set of the same kind")
    to_model = _class_map(info.label_names, model_names, data, strict=is_text_table(data))
    correct = examples = 0
    for texts, labels in load_text_classification(data, split, table=table).batch(_TEXT_BATCH).as_numpy_iterator():
        if pair:
            first, second = ([t.decode("utf-8") for t in part] for part in texts)
        else:
            first, second = [t.decode("utf-8") for t in texts], None
        class_ids = np.asarray(classify(first, second)).argmax(axis=-1)
        correct += int((class_ids == to_model[labels]).sum())
        examples += len(labels)
    return {"model": model_path, "data": data, "split": split,
            "accuracy": correct / max(examples, 1), "examples": examples}


def _data_keys(run_data, data, options):
    """The folder/table keys: the run's own when ``data`` is the run's data, then ``options``."""
    keys = {key: run_data[key] for key in DATA_KEYS if key in run_data} if _same_data(data, run_data.get("name")) else {}
    keys.update(options or {})
    return keys


def _same_data(a, b):
    """Whether two data names are the same set: equal names, or paths to the same file or folder."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    return os.path.exists(a) and os.path.exists(b) and os.path.realpath(a) == os.path.realpath(b)


def _class_map(data_names, model_names, data, strict):
    """``array[data class id] -> model class id``, matching class names; the identity where the
    model records no names, or (for named sets, ``strict`` false) where they do not match."""
    identity = np.arange(len(data_names))
    if not model_names or list(data_names) == list(model_names):
        return identity
    position = {name: index for index, name in enumerate(model_names)}
    missing = [name for name in data_names if name not in position]
    if missing:
        if not strict:
            return identity
        raise DataError(
            f"{data} has classes the model lacks ({', '.join(missing[:5])}; the model's: "
            f"{', '.join(map(str, model_names[:10]))}): name the classes as the model's labels"
        )
    return np.asarray([position[name] for name in data_names])
