"""Fine-tuning a BERT encoder to classify text: load the encoder, preprocess, fit, evaluate."""

import dataclasses
import math
import os
import time

import keras

from kerapre.config import FinetuneTextConfig, save_config, to_dict, validate
from kerapre.data.text_classification import (
    load_text_classification,
    majority_class_rate,
    split_labelled_texts,
    text_dataset_info,
    text_pipeline,
)
from kerapre.data.text_preprocessor import BertTextPreprocessor
from kerapre.data.vocab import VOCAB_FILENAME, load_vocabulary, vocabulary_hash, write_vocabulary
from kerapre.distribute import get_strategy, global_batch_size, set_precision
from kerapre.errors import DataError
from kerapre.models.bert import BertEncoder
from kerapre.tasks.bert_pretrainer import BertPretrainer
from kerapre.tasks.text_classifier import TextClassifier
from kerapre.training import WarmupLinearDecay, make_optimizer, standard_callbacks
from kerapre.workflows.pretrain_bert import PRETRAINER_FILE, init_vocabulary_path, load_encoder_for_init
from kerapre.workflows.pretrain_cnn import write_run_record

SCRATCH = "scratch"
MODEL_FILE = "model.keras"
# Peak learning rates when train.learning_rate is null.
DEFAULT_LEARNING_RATES = {"trainable": 5e-5, "frozen": 1e-3, "scratch": 1e-4}


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


def load_encoder(path, trainable=True, vocab=None):
    """Loads a pretrained ``BertEncoder`` and the vocabulary it was trained with.

    Args:
        path: a kerapre BERT pretraining run directory (its ``pretrainer.keras``), a
            ``pretrainer.keras`` file, or a keras-hub BERT preset directory.
        trainable: ``False`` freezes the encoder's weights.
        vocab: a ``vocab.txt`` to use instead of the one beside the weights.

    Returns:
        ``(encoder, vocabulary)``: the ``BertEncoder`` and its list of tokens.

    Raises:
        DataError: if ``path`` does not exist or holds no BERT encoder, the vocabulary is
            missing, or its size differs from the encoder's ``vocabulary_size``.

    Examples:

    ```python
    encoder, vocab = load_encoder("runs/bert_pretrain", trainable=False)
    model = kerapre.tasks.TextClassifier(encoder, num_classes=2)
    ```
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(
            f"backbone {path} does not exist: pass a BERT pretraining run directory (kerapre.pretrain_bert), "
            f"its {PRETRAINER_FILE}, or scratch"
        )
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "config.json")):
        encoder = load_encoder_for_init(path)  # a keras-hub preset directory
    else:
        file = os.path.join(path, PRETRAINER_FILE) if os.path.isdir(path) else path
        if not (os.path.isfile(file) and file.endswith(".keras")):
            raise DataError(
                f"{path} holds no {PRETRAINER_FILE}: pass a BERT pretraining run directory or its {PRETRAINER_FILE}"
            )
        loaded = keras.saving.load_model(file, compile=False)
        encoder = loaded.encoder if isinstance(loaded, BertPretrainer) else loaded
        if not isinstance(encoder, BertEncoder):
            raise DataError(
                f"{file} holds a {type(loaded).__name__}, not a BERT encoder: pass a BERT pretraining run's "
                f"{PRETRAINER_FILE}"
            )
    vocab_path = vocab or init_vocabulary_path(path)
    if not vocab_path:
        raise DataError(f"no {VOCAB_FILENAME} beside {path}: pass the vocabulary the encoder was pretrained with")
    tokens = load_vocabulary(vocab_path)
    if len(tokens) != encoder.vocabulary_size:
        raise DataError(
            f"vocabulary mismatch: {vocab_path} has {len(tokens)} tokens but the encoder at {path} has "
            f"{encoder.vocabulary_size} token embeddings: pass the vocab.txt it was pretrained with"
        )
    encoder.trainable = trainable
    return encoder, tokens


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
    if config.data.seq_length > encoder.max_sequence_length:
        raise DataError(
            f"data.seq_length {config.data.seq_length} exceeds the encoder's max_sequence_length "
            f"{encoder.max_sequence_length}: lower data.seq_length"
        )
    return encoder, vocab


def default_learning_rate(config):
    """``train.learning_rate``, or the default for how the encoder is trained."""
    if config.train.learning_rate is not None:
        return config.train.learning_rate
    if not config.trainable:
        return DEFAULT_LEARNING_RATES["frozen"]
    return DEFAULT_LEARNING_RATES[SCRATCH if config.backbone == SCRATCH else "trainable"]


def finetune_text(config=None, model_dir=None, log=print):
    """Fine-tunes a BERT encoder with a new classification head on a text classification set.

    Loads the encoder (or builds one from scratch), keeps ``labels_per_class`` training
    examples per class if set, tokenises with ``BertTextPreprocessor`` in ``tf.data``,
    trains with AdamW under warm-up and linear decay inside ``strategy.scope()``, then
    evaluates on the validation and test splits. Writes ``config.yaml``, ``vocab.txt``,
    TensorBoard ``logs/``, ``metrics.csv``, ``model.keras`` and ``run.json``.

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
    ```
    """
    config = validate(config or FinetuneTextConfig())
    data, train_config = config.data, config.train
    info = text_dataset_info(data.name, data_dir=data.data_dir)
    keras.utils.set_random_seed(train_config.seed)
    strategy = get_strategy(train_config.strategy)
    precision = set_precision(train_config.precision, strategy)
    batch = global_batch_size(strategy, data.batch_size)

    def split(name):
        if not name:
            return None
        ds = load_text_classification(data.name, name, data_dir=data.data_dir)
        return ds.take(data.limit) if data.limit else ds

    pool, validation_raw, test_raw = (split(s) for s in (data.train_split, data.validation_split, data.test_split))
    if config.labels_per_class:
        pool, _ = split_labelled_texts(pool, config.labels_per_class, info.num_classes, train_config.seed)
    train_examples = _count(pool)
    steps = train_config.epochs * math.ceil(train_examples / batch)
    learning_rate = default_learning_rate(config)
    with strategy.scope():
        encoder, vocab = build_encoder(config)
        model = TextClassifier(encoder, info.num_classes, dropout=config.head.dropout)
        schedule = WarmupLinearDecay(learning_rate, steps, round(steps * train_config.warmup_fraction))
        model.compile(
            optimizer=make_optimizer(train_config, schedule),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            jit_compile=train_config.jit_compile,
            steps_per_execution=train_config.steps_per_execution,
        )
    if model_dir:  # only now: a bad data set, split, backbone or vocabulary has failed before
        os.makedirs(model_dir, exist_ok=True)
        save_config(config, os.path.join(model_dir, "config.yaml"))

    preprocessor = BertTextPreprocessor(vocab, sequence_length=data.seq_length, lowercase=data.lowercase)
    train = text_pipeline(pool, preprocessor, batch_size=batch, training=True, seed=train_config.seed)
    validation, test = (
        None if raw is None else text_pipeline(raw, preprocessor, batch_size=max(batch, 128), training=False)
        for raw in (validation_raw, test_raw)
    )
    log(f"[finetune_text] {config.backbone} ({'trainable' if config.trainable else 'frozen'}, "
        f"{encoder.count_params():,} encoder parameters) on {data.name}[{data.train_split}]: "
        f"{train_examples} examples, {steps} steps, peak learning rate {learning_rate:g}, {precision}")
    callbacks = standard_callbacks(model_dir, checkpoints=False) if model_dir else []
    start = time.perf_counter()
    fit = model.fit(
        train,
        validation_data=validation,
        epochs=train_config.epochs,
        callbacks=callbacks,
        verbose=train_config.verbose,
        shuffle=False,  # the pipeline shuffles
    )
    seconds = time.perf_counter() - start
    validation_loss, validation_accuracy = _evaluate(model, validation)
    test_loss, test_accuracy = _evaluate(model, test)
    test_majority = majority_class_rate(test_raw) if test_raw is not None else None
    if test_accuracy is not None:
        log(f"[finetune_text] test accuracy {test_accuracy:.4f} (majority class {test_majority:.4f})")

    if model_dir:
        write_vocabulary(vocab, os.path.join(model_dir, VOCAB_FILENAME))
        model.save(os.path.join(model_dir, MODEL_FILE))
        write_run_record(
            model_dir,
            task="finetune_text",
            data=data.name,
            label_names=list(info.label_names),
            backbone=config.backbone,
            trainable=config.trainable,
            train_examples=train_examples,
            learning_rate=learning_rate,
            seq_length=data.seq_length,
            lowercase=data.lowercase,
            vocab_size=len(vocab),
            vocab_hash=vocabulary_hash(vocab),
            precision=precision,
            replicas=strategy.num_replicas_in_sync,
            validation_accuracy=validation_accuracy,
            test_accuracy=test_accuracy,
            test_majority_rate=test_majority,
            fit_seconds=round(seconds, 2),
            config=to_dict(config),
        )
    history = {k: [float(x) for x in v] for k, v in fit.history.items()}
    return FinetuneTextResult(
        model, preprocessor, model_dir, history, validation_accuracy, validation_loss, test_accuracy, test_loss,
        test_majority, train_examples, learning_rate, seconds,
    )


def _evaluate(model, ds):
    if ds is None:
        return None, None
    loss, accuracy = model.evaluate(ds, verbose=0)
    return float(loss), float(accuracy)


def _count(ds):
    size = int(ds.cardinality())
    return size if size >= 0 else sum(1 for _ in ds)
