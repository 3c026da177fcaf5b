"""Fine-tuning a BERT encoder to classify text: load the encoder, preprocess, fit, evaluate."""

import dataclasses
import math

import keras

from kerapre.config import FinetuneTextConfig, validate
from kerapre.data.text_classification import (
    load_text_classification,
    majority_class_rate,
    split_labelled_texts,
    text_dataset_info,
    text_pipeline,
)
from kerapre.data.text_preprocessor import BertTextPreprocessor
from kerapre.data.text_table import TableOptions
from kerapre.data.vocab import VOCAB_FILENAME, load_vocabulary, vocabulary_hash, write_vocabulary
from kerapre.distribute import is_tpu, shard_by
from kerapre.errors import DataError
from kerapre.export.encoders import ENCODER_HINT, load_encoder, text_casing
from kerapre.export.resolve import resolve
from kerapre.models.bert import BertEncoder
from kerapre.tasks.text_classifier import TextClassifier
from kerapre.training import WarmupLinearDecay
from kerapre.training.compile import classification_objective
from kerapre.training.run import TrainingRun

SCRATCH = "scratch"
LATEST_CHECKPOINT = "latest.weights.h5"
# Peak learning rates when train.learning_rate is null, chosen on the Rotten Tomatoes validation
# split for bert_tiny (benchmarks/text_finetune_sweep.py, docs/bert_finetuning.md). A trainable
# encoder of hidden size 512 or more (bert_small and up) gets BERT's own fine-tuning rate.
DEFAULT_LEARNING_RATES = {"trainable": 3e-4, "frozen": 1e-3, "scratch": 3e-4}
LARGE_ENCODER_LEARNING_RATE = 5e-5
LARGE_HIDDEN_DIM = 512


@dataclasses.dataclass
class FinetuneTextResult:
    """What a text fine-tuning run produced.

    Attributes:
        model: the fine-tuned ``TextClassifier``.
        preprocessor: the ``BertTextPreprocessor`` its inputs come from.
        model_dir: the run directory (``None`` if nothing was written).
        history: ``{metric: [value per epoch]}``.
        validation_accuracy: accuracy on ``data.validation_split`` (``None`` without one).
        validation_loss: loss on ``data.validation_split``.
        test_accuracy: accuracy on ``data.test_split`` (``None`` without one).
        test_loss: loss on ``data.test_split``.
        test_majority_rate: accuracy of always predicting the test examples' most
            frequent class, the baseline to beat.
        train_examples: how many labelled examples were trained on.
        learning_rate: the peak learning rate used.
        seconds: wall time of ``fit``.
    """

    model: keras.Model
    preprocessor: BertTextPreprocessor
    model_dir: str
    history: dict
    validation_accuracy: float
    validation_loss: float
    test_accuracy: float
    test_loss: float
    test_majority_rate: float
    train_examples: int
    learning_rate: float
    seconds: float


def build_encoder(config):
    """The encoder and vocabulary of a config: loaded from ``backbone`` or built from
    ``model.preset`` (``backbone: scratch``); call inside ``strategy.scope()``."""
    if config.backbone == SCRATCH:
        vocab = load_vocabulary(config.data.vocab)
        encoder = BertEncoder.from_preset(
            config.model.preset,
            vocabulary_size=len(vocab),
            dropout=config.model.dropout,
            max_sequence_length=max(512, config.data.seq_length),
        )
        encoder.trainable = config.trainable
        return encoder, vocab
    encoder, vocab = load_encoder(config.backbone, trainable=config.trainable, vocab=config.data.vocab)
    if config.data.seq_length > getattr(encoder, "max_sequence_length", config.data.seq_length):
        raise DataError(
            f"data.seq_length {config.data.seq_length} exceeds the encoder's max_sequence_length "
            f"{encoder.max_sequence_length}: lower data.seq_length"
        )
    return encoder, vocab


def default_learning_rate(config, encoder=None):
    """``train.learning_rate``, or the default for how (and how big) the encoder is trained."""
    if config.train.learning_rate is not None:
        return config.train.learning_rate
    if not config.trainable:
        return DEFAULT_LEARNING_RATES["frozen"]
    if (getattr(encoder, "hidden_dim", None) or 0) >= LARGE_HIDDEN_DIM:
        return LARGE_ENCODER_LEARNING_RATE
    return DEFAULT_LEARNING_RATES[SCRATCH if config.backbone == SCRATCH else "trainable"]


def finetune_text(config=None, model_dir=None, log=print):
    """Fine-tunes a BERT encoder with a new classification head on a text classification set.

    Loads the encoder (or builds one from scratch), keeps ``labels_per_class`` training
    examples per class if set, tokenises with ``BertTextPreprocessor`` in ``tf.data``,
    trains with AdamW under warm-up and linear decay inside ``strategy.scope()``, then
    evaluates on the validation and test splits. Writes ``config.yaml``, ``vocab.txt``,
    TensorBoard ``logs/``, ``metrics.csv``, ``model.keras`` and ``run.json``.

    A sentence-pair set (``glue/mrpc``, ``glue/mnli``, ...) is packed as
    ``[CLS] first [SEP] second [SEP]``; ``run.json`` records ``pair: true``, so its
    export and ``predict_text`` take two texts per example.

    Args:
        config: a ``kerapre.config.FinetuneTextConfig``.
        model_dir: the run directory (``None``: nothing is written).
        log: where progress lines go.

    Returns:
        A ``FinetuneTextResult``.

    Raises:
        DataError: if the data set is unknown, the backbone is missing or does not match
            its vocabulary.

    Examples:

    ```python
    config = load_config(FinetuneTextConfig, overrides=["backbone=runs/bert_pretrain", "trainable=false"])
    result = kerapre.finetune_text(config, model_dir="runs/rt_frozen")
    result.test_accuracy, result.test_majority_rate
    config = load_config(FinetuneTextConfig, overrides=["data.name=glue/mrpc", "data.test_split=null"])
    kerapre.finetune_text(config, model_dir="runs/mrpc")  # run.json: "pair": true
    ```
    """
    config = validate(config or FinetuneTextConfig())
    data, train_config = config.data, config.train
    with TrainingRun(config, model_dir, task="finetune_text", log=log) as run:
        table = TableOptions.from_config(data)
        info = text_dataset_info(data.name, data_dir=data.data_dir, table=table)
        batch = run.global_batch(data.batch_size)

        def split(name):
            if not name:
                return None
            ds = load_text_classification(data.name, name, data_dir=data.data_dir, table=table)
            return ds.take(data.limit) if data.limit else ds

        pool, validation_raw, test_raw = (split(s) for s in (data.train_split, data.validation_split, data.test_split))
        if config.labels_per_class:
            pool, _ = split_labelled_texts(pool, config.labels_per_class, info.num_classes, train_config.seed)
        train_examples = _count(pool)
        steps = train_config.epochs * math.ceil(train_examples / batch)
        backbone = None if config.backbone == SCRATCH else resolve(config.backbone, hint=ENCODER_HINT)
        lowercase, strip_accents = text_casing(backbone, config.data.lowercase, log, prefix="[finetune_text]")
        with run.scope():
            encoder, vocab = build_encoder(config)
            learning_rate = default_learning_rate(config, encoder)
            preprocessor = BertTextPreprocessor(vocab, sequence_length=data.seq_length, lowercase=lowercase,
                                                strip_accents=strip_accents)
            model = TextClassifier(encoder, info.num_classes, dropout=config.head.dropout, preprocessor=preprocessor,
                                   pooling=config.head.pooling)
            schedule = WarmupLinearDecay(learning_rate, steps, round(steps * train_config.warmup_fraction))
            run.compile(model, learning_rate=schedule, **classification_objective())

        trim = data.dynamic_padding and not is_tpu(run.strategy)
        train = text_pipeline(pool, preprocessor, batch_size=batch, training=True, seed=train_config.seed,
                              pad_to_longest=trim, bucket_by_length=data.bucket_by_length)
        validation, test = (
            None if raw is None else text_pipeline(raw, preprocessor, batch_size=max(batch, 128), training=False,
                                                   pad_to_longest=trim)
            for raw in (validation_raw, test_raw)
        )
        # Tokenised and cached whole: the workers of a cluster split every batch.
        train, validation, test = (None if ds is None else shard_by(ds, "data") for ds in (train, validation, test))
        log(f"[finetune_text] {config.backbone} ({'trainable' if config.trainable else 'frozen'}, "
            f"{encoder.count_params():,} encoder parameters) on {data.name}[{data.train_split}]: "
            f"{train_examples} examples, {steps} steps, peak learning rate {learning_rate:g}, {run.precision}")
        # Only now is the run directory made: a bad data set, split, backbone or vocabulary has failed before.
        run.fit(model, train, epochs=train_config.epochs, validation_data=validation, checkpoints=False)
        validation_loss, validation_accuracy = _evaluate(model, validation)
        test_loss, test_accuracy = _evaluate(model, test)
        test_majority = majority_class_rate(test_raw) if test_raw is not None else None
        if test_accuracy is not None:
            log(f"[finetune_text] test accuracy {test_accuracy:.4f} (majority class {test_majority:.4f})")

        if run.directory:
            write_vocabulary(vocab, run.path(VOCAB_FILENAME))
        run.save_model(model)
        run.finish(
            data=data.name,
            data_license=info.license,
            data_homepage=info.homepage,
            label_names=list(info.label_names),
            pair=info.pair,
            backbone=config.backbone,
            trainable=config.trainable,
            train_examples=train_examples,
            learning_rate=learning_rate,
            sequence_length=data.seq_length,
            lowercase=lowercase,
            strip_accents=preprocessor.strip_accents if preprocessor.strip_accents != lowercase else None,
            vocabulary_size=len(vocab),
            vocabulary_hash=vocabulary_hash(vocab),
            validation_accuracy=validation_accuracy,
            test_accuracy=test_accuracy,
            test_majority_rate=test_majority,
        )
    return FinetuneTextResult(
        model, preprocessor, model_dir, run.history, validation_accuracy, validation_loss, test_accuracy, test_loss,
        test_majority, train_examples, learning_rate, run.fit_seconds,
    )


def _evaluate(model, ds):
    if ds is None:
        return None, None
    loss, accuracy = model.evaluate(ds, verbose=0)
    return float(loss), float(accuracy)


def _count(ds):
    size = int(ds.cardinality())
    return size if size >= 0 else sum(1 for _ in ds)
