"""``run.json``: the typed record of what a training run produced, read and written in one place.

Every training workflow writes one through the run skeleton (``kerapre.training.run``); export,
reload, evaluate, predict and fine-tuning read it back with :func:`read_run_record`. A field
has one spelling here and in the exports' ``kerapre.json`` (``sequence_length``,
``vocabulary_size``, ``vocabulary_hash``); records written by kerapre 0.1 under the older
spellings (``seq_length``, ``vocab_size``, ``vocab_hash``) still read. A key this version does
not know is refused, so a record is never half understood.

Examples:

```python
record = read_run_record("runs/cnn_pretrain")
record.task, record.label_names  # ('cnn_pretrain', ['T-shirt/top', ...])
record.config["train"]["seed"]
```
"""

import dataclasses
import difflib
import json
import os
import typing

from kerapre.errors import DataError

RUN_FILE = "run.json"
# What else a run directory holds (kerapre.training.run writes them, kerapre.export.resolve reads them).
CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"
WEIGHTS_FILE = "model.weights.h5"  # instead of MODEL_FILE for a model over a reloaded SavedModel
PRETRAINER_FILE = "pretrainer.keras"  # BERT pretraining runs
CHECKPOINTS_DIR = "checkpoints"
LATEST_CHECKPOINT = "latest.weights.h5"
BACKUP_DIR = "backup"
TASKS = ("cnn_pretrain", "ssl_pretrain", "finetune_image", "bert_pretrain", "finetune_text")
# Spellings of kerapre 0.1 records, read as today's.
OLD_SPELLINGS = {"seq_length": "sequence_length", "vocab_size": "vocabulary_size", "vocab_hash": "vocabulary_hash"}


@dataclasses.dataclass
class RunRecord:
    """What a run directory holds, beyond its weights.

    Args:
        task: which workflow wrote it (one of ``TASKS``).
        config: the whole experiment config, as plain dicts.
        kerapre_version: the version that wrote it.
        precision: the dtype policy trained under.
        replicas: replicas in sync (all workers together).
        fit_seconds: wall time of the ``fit`` calls.
        resumed_after_epoch: epochs a restarted run took from its backup (0: none).
        final_metrics: the last epoch's value of every logged metric.
        data: the data set trained on (image and text classification, SSL).
        label_names: the class names, in label order (null for unlabelled pretraining).
        train_examples: labelled examples trained on (fine-tuning).
        validation_accuracy: accuracy on the validation split (text fine-tuning).
        test_accuracy: accuracy on the test or evaluation split (fine-tuning).
        test_majority_rate: accuracy of always answering the test split's most frequent class.
        method: ``simclr`` or ``rotation`` (SSL pretraining).
        split: the split pretrained on (SSL pretraining).
        images: unlabelled images drawn from (SSL pretraining).
        corpus: the pretraining corpus (BERT).
        train_pairs: sentence pairs written for training (BERT).
        sequences_per_second: global batch over the median step time (BERT).
        held_out_before: held-out metrics before pretraining (BERT; null without a held-out set).
        held_out_after: held-out metrics after pretraining (BERT).
        train_after: metrics on a sample of training pairs after pretraining (BERT).
        mlm_majority_baseline: held-out accuracy of always predicting the commonest masked token.
        vocabulary_size: tokens in the run's ``vocab.txt`` (BERT runs).
        vocabulary_hash: ``kerapre.data.vocab.vocabulary_hash`` of it.
        lowercase: whether the vocabulary is uncased: text is lower-cased (and accents stripped,
            unless ``strip_accents`` says otherwise).
        strip_accents: whether accents are stripped, where it differs from ``lowercase`` (a
            checkpoint's Hugging Face ``strip_accents``; ``null``: as ``lowercase``).
        sequence_length: tokens per example the classifier was trained on (text fine-tuning).
        pair: whether the classifier takes sentence pairs (text fine-tuning).
        backbone: where the encoder came from (text fine-tuning).
        trainable: whether the encoder trained too (text fine-tuning).
        learning_rate: the peak learning rate used (text fine-tuning).
        data_license: the licence of the labelled data set (text fine-tuning).
        data_homepage: where the labelled data set comes from (text fine-tuning).
    """

    task: str
    config: dict
    kerapre_version: typing.Optional[str] = None
    precision: typing.Optional[str] = None
    replicas: typing.Optional[int] = None
    fit_seconds: typing.Optional[float] = None
    resumed_after_epoch: int = 0
    final_metrics: typing.Optional[dict] = None
    data: typing.Optional[str] = None
    label_names: typing.Optional[list] = None
    train_examples: typing.Optional[int] = None
    validation_accuracy: typing.Optional[float] = None
    test_accuracy: typing.Optional[float] = None
    test_majority_rate: typing.Optional[float] = None
    method: typing.Optional[str] = None
    split: typing.Optional[str] = None
    images: typing.Optional[int] = None
    corpus: typing.Optional[str] = None
    train_pairs: typing.Optional[int] = None
    sequences_per_second: typing.Optional[float] = None
    held_out_before: typing.Optional[dict] = None
    held_out_after: typing.Optional[dict] = None
    train_after: typing.Optional[dict] = None
    mlm_majority_baseline: typing.Optional[float] = None
    vocabulary_size: typing.Optional[int] = None
    vocabulary_hash: typing.Optional[str] = None
    lowercase: typing.Optional[bool] = None
    strip_accents: typing.Optional[bool] = None
    sequence_length: typing.Optional[int] = None
    pair: bool = False
    backbone: typing.Optional[str] = None
    trainable: typing.Optional[bool] = None
    learning_rate: typing.Optional[float] = None
    data_license: typing.Optional[str] = None
    data_homepage: typing.Optional[str] = None

    def to_dict(self):
        """The record as ``run.json`` holds it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values, where=RUN_FILE):
        """A record from ``run.json``'s dict; old spellings are read as today's and an unknown
        key is a ``DataError`` naming it."""
        if not isinstance(values, dict):
            raise DataError(f"{where} is not a JSON object: delete it and train the run again")
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {OLD_SPELLINGS.get(key, key): value for key, value in values.items()}
        for key in values:
            if key not in fields:
                close = difflib.get_close_matches(key, sorted(fields), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise DataError(
                    f"{where} has an unknown key {key!r}{hint}: it was written by another kerapre version; "
                    "upgrade kerapre or train the run again"
                )
        for key in ("task", "config"):
            if key not in values:
                raise DataError(f"{where} has no {key!r}: it is not a kerapre run record; train the run again")
        if values["task"] not in TASKS:
            raise DataError(f"{where} is the record of an unknown task {values['task']!r}: choose a run of {TASKS}")
        return cls(**values)


def run_record_path(run_dir):
    """Where a run directory keeps its record."""
    return os.path.join(run_dir, RUN_FILE)


def has_run_record(run_dir):
    """Whether ``run_dir`` is a kerapre run directory with a record."""
    return os.path.isfile(run_record_path(run_dir))


def read_run_record(run_dir):
    """The ``RunRecord`` of a run directory.

    Raises:
        DataError: if the directory has no ``run.json`` or it is not a valid record.
    """
    path = run_record_path(run_dir)
    if not os.path.isfile(path):
        raise DataError(f"{run_dir} is not a kerapre run (no {RUN_FILE}): pass the directory a training command wrote")
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except json.JSONDecodeError as error:
        raise DataError(f"{path} is not valid JSON (line {error.lineno}): delete it and train the run again") from None
    return RunRecord.from_dict(values, where=path)


def write_run_record(run_dir, record):
    """Writes ``record`` as ``run_dir/run.json``, atomically (beside, then renamed)."""
    path = run_record_path(run_dir)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(record.to_dict(), f, indent=2)
    os.replace(path + ".tmp", path)
