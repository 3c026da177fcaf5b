"""Fine-tuning a BERT encoder to classify text: load the encoder, preprocess, fit, evaluate."""

import dataclasses
import math
import os

import keras

from kerapre.config import FinetuneTextConfig, from_dict, validate
from kerapre.data.text_classification import (
    load_text_classification,
    majority_class_rate,
    split_labelled_texts,
    text_dataset_info,
    text_pipeline,
)
from kerapre.data.text_preprocessor import BertTextPreprocessor
from kerapre.data.vocab import VOCAB_FILENAME, load_vocabulary, vocabulary_hash, write_vocabulary
from kerapre.distribute import is_tpu, shard_by
from kerapre.errors import DataError
from kerapre.export.hub import find_hub_encoder, load_hub_encoder
from kerapre.export.layout import latest_version_dir, read_metadata
from kerapre.models.bert import BertEncoder
from kerapre.run_record import has_run_record, read_run_record
from kerapre.tasks.bert_pretrainer import BertPretrainer
from kerapre.tasks.text_classifier import TextClassifier
from kerapre.training import WarmupLinearDecay
from kerapre.training.compile import classification_objective
from kerapre.training.run import MODEL_FILE, WEIGHTS_FILE, TrainingRun
from kerapre.workflows.pretrain_bert import PRETRAINER_FILE, init_vocabulary_path, load_encoder_for_init

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


def load_encoder(path, trainable=True, vocab=None):
    """Loads a pretrained BERT encoder and the vocabulary it was trained with.

    Args:
        path: any of
            - a kerapre BERT pretraining run directory (its ``pretrainer.keras``, or its
              latest training checkpoint ``checkpoints/latest.weights.h5`` if the run
              was stopped before the end), or such a checkpoint file;
            - a ``.keras`` file (or ``kerapre export --format keras`` directory) holding a
              ``BertPretrainer``, a ``BertEncoder`` or a ``TextClassifier`` (its encoder);
            - a ``kerapre finetune text`` run directory (its classifier's encoder);
            - a TF Hub export (``saved_models/<name>-hub``, a version of it, or its
              ``encoder/``), reloaded as a SavedModel layer that trains with AdamW and
              honours ``training=True``;
            - a keras-hub BERT preset directory.
        trainable: ``False`` freezes the encoder's weights.
        vocab: a ``vocab.txt`` to use instead of the one that comes with the weights.

    Returns:
        ``(encoder, vocabulary)``: a model with the ``BertEncoder`` inputs and outputs, and
        its list of tokens.

    Raises:
        DataError: if ``path`` does not exist or holds no BERT encoder, the vocabulary is
            missing, or its size differs from the encoder's token embeddings.

    Examples:

    ```python
    encoder, vocab = load_encoder("runs/bert_pretrain", trainable=False)
    encoder, vocab = load_encoder("saved_models/bert_tiny-hub", trainable=True)
    model = kerapre.tasks.TextClassifier(encoder, num_classes=2)
    ```
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(
            f"backbone {path} does not exist: pass a BERT pretraining run, a .keras or TF Hub export, "
            "a training checkpoint, or scratch"
        )
    encoder, found_vocab = _load_any_encoder(path)
    if vocab:
        tokens = load_vocabulary(vocab)
    elif found_vocab is not None:
        tokens = found_vocab
    else:
        raise DataError(f"no {VOCAB_FILENAME} beside {path}: pass the vocabulary the encoder was pretrained with")
    size = _vocabulary_size(encoder)
    if len(tokens) != size:
        raise DataError(
            f"vocabulary mismatch: {vocab or path} has {len(tokens)} tokens but the encoder at {path} has "
            f"{size} token embeddings: pass the vocab.txt it was pretrained with"
        )
    encoder.trainable = trainable
    return encoder, tokens


def _load_any_encoder(path):
    """``(encoder, vocabulary or None)`` from any of the places ``load_encoder`` takes."""
    if path.endswith(".weights.h5"):
        return _encoder_from_checkpoint(path)
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "config.json")):
        return load_encoder_for_init(path), _vocab_beside(path)  # a keras-hub preset directory
    if find_hub_encoder(path):
        encoder = load_hub_encoder(path, trainable=True)
        return encoder, encoder.vocabulary
    if os.path.isdir(path) and (read_metadata(latest_version_dir(path)) or {}).get("format") == "serving":
        base = os.path.dirname(os.path.normpath(latest_version_dir(path)))
        raise DataError(
            f"{path} is a TF Serving export (classification signatures, no encoder): reload the encoder from "
            f"the same model's hub or keras export ({base}-hub or {base}-keras)"
        )
    if os.path.isdir(path):
        for name in (PRETRAINER_FILE, MODEL_FILE):
            if os.path.exists(os.path.join(path, name)):
                return _encoder_from_keras_file(os.path.join(path, name))
        if has_run_record(path) and os.path.exists(os.path.join(path, WEIGHTS_FILE)):
            model, _, _ = load_text_run(path)  # a classifier on a SavedModel encoder
            return model.backbone, load_vocabulary(os.path.join(path, VOCAB_FILENAME))
        checkpoint = os.path.join(path, "checkpoints", LATEST_CHECKPOINT)
        if os.path.exists(checkpoint):
            return _encoder_from_checkpoint(checkpoint)
        raise DataError(
            f"{path} holds no BERT encoder ({PRETRAINER_FILE}, {MODEL_FILE}, a TF Hub export or a checkpoint): "
            "pass a BERT pretraining run, an export or a checkpoint"
        )
    if path.endswith(".keras"):
        return _encoder_from_keras_file(path)
    raise DataError(f"{path} is not a BERT encoder: pass a run directory, a .keras file, an export or a checkpoint")


def _encoder_from_keras_file(file):
    loaded = keras.saving.load_model(file, compile=False)
    if isinstance(loaded, BertPretrainer):
        encoder = loaded.encoder
    elif isinstance(loaded, TextClassifier):
        encoder = loaded.backbone
    else:
        encoder = loaded
    if not isinstance(encoder, BertEncoder):
        raise DataError(
            f"{file} holds a {type(loaded).__name__}, not a BERT encoder: pass a BERT pretraining run's "
            f"{PRETRAINER_FILE}, a text classifier or an encoder"
        )
    return encoder, _vocab_beside(file)


def _encoder_from_checkpoint(checkpoint):
    """The encoder of a pretraining run's weights checkpoint, rebuilt from the run's config."""
    from kerapre.config import BertPretrainConfig, load_config
    from kerapre.workflows.pretrain_bert import build_pretrainer

    run_dir = os.path.dirname(os.path.dirname(os.path.abspath(checkpoint)))
    config_file = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(config_file):
        raise DataError(f"no config.yaml in {run_dir}: a checkpoint loads only inside its BERT pretraining run")
    config = load_config(BertPretrainConfig, config_file)
    config.model.init = None  # the checkpoint holds every weight
    tokens = _vocab_beside(run_dir)
    if tokens is None:
        raise DataError(f"no {VOCAB_FILENAME} in {run_dir}: a checkpoint needs its run's vocabulary")
    pretrainer = build_pretrainer(config, len(tokens))
    pretrainer.load_weights(checkpoint)
    return pretrainer.encoder, tokens


def _vocab_beside(path):
    vocab_path = init_vocabulary_path(path)
    return load_vocabulary(vocab_path) if vocab_path else None


def _vocabulary_size(encoder):
    size = getattr(encoder, "vocabulary_size", None)  # a BertEncoder
    return size if size is not None else len(encoder.vocabulary)  # a TF Hub export's


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
        info = text_dataset_info(data.name, data_dir=data.data_dir)
        batch = run.global_batch(data.batch_size)

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
        with run.scope():
            encoder, vocab = build_encoder(config)
            learning_rate = default_learning_rate(config, encoder)
            model = TextClassifier(encoder, info.num_classes, dropout=config.head.dropout)
            schedule = WarmupLinearDecay(learning_rate, steps, round(steps * train_config.warmup_fraction))
            run.compile(model, learning_rate=schedule, **classification_objective())

        preprocessor = BertTextPreprocessor(vocab, sequence_length=data.seq_length, lowercase=data.lowercase)
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
            lowercase=data.lowercase,
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


def load_text_run(model_dir):
    """The classifier, preprocessor and run record of a ``finetune_text`` run directory.

    The classifier comes from ``model.keras``, or, when its encoder was a SavedModel (a
    TF Hub export), is rebuilt from the run's config and ``model.weights.h5``.

    Returns:
        ``(model, preprocessor, record)``: a ``RunRecord``, whose ``pair`` says whether the classifier
        takes sentence pairs (false for runs that predate it).
    """
    record = read_run_record(model_dir)
    if record.task != "finetune_text":
        raise DataError(f"{model_dir} is a {record.task} run, not a finetune_text run")
    vocab = load_vocabulary(os.path.join(model_dir, VOCAB_FILENAME))
    keras_file = os.path.join(model_dir, MODEL_FILE)
    if os.path.exists(keras_file):
        model = keras.saving.load_model(keras_file)
    else:
        config = from_dict(FinetuneTextConfig, record.config)
        encoder, _ = load_encoder(config.backbone, trainable=config.trainable, vocab=os.path.join(model_dir, VOCAB_FILENAME))
        model = TextClassifier(encoder, len(record.label_names), dropout=config.head.dropout)
        model.load_weights(os.path.join(model_dir, WEIGHTS_FILE))
    lowercase = True if record.lowercase is None else record.lowercase
    preprocessor = BertTextPreprocessor(vocab, sequence_length=record.sequence_length, lowercase=lowercase)
    return model, preprocessor, record


def _evaluate(model, ds):
    if ds is None:
        return None, None
    loss, accuracy = model.evaluate(ds, verbose=0)
    return float(loss), float(accuracy)


def _count(ds):
    size = int(ds.cardinality())
    return size if size >= 0 else sum(1 for _ in ds)
