"""The two kinds of backbone a label-efficiency report compares: CNNs on images, BERT encoders on text.

Each kind loads its target and its backbones, builds a backbone of the same shape from
scratch, turns the target into model inputs, computes a frozen backbone's features for the
linear probe, and builds a compiled classifier.
"""

import dataclasses

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from kerapre.config import TextTrainConfig, TrainConfig
from kerapre.data.text_preprocessor import BertTextPreprocessor
from kerapre.data.vocab import vocabulary_hash
from kerapre.errors import DataError
from kerapre.export.encoders import ENCODER_HINT, load_encoder
from kerapre.export.reload import load_backbone
from kerapre.export.resolve import resolve
from kerapre.models.bert import BertEncoder
from kerapre.models.cnn import CNN
from kerapre.report.features import extract_features, pooling_model
from kerapre.report.targets import load_image_target, load_text_target
from kerapre.tasks.image_classifier import ImageClassifier, extract_backbone
from kerapre.tasks.text_classifier import TextClassifier
from kerapre.training import WarmupLinearDecay
from kerapre.training.compile import compile_classifier

TOKENISE_BATCH = 1024


class ImageKind:
    """Loads CNN backbones and builds image classifiers around them."""

    def __init__(self, config):
        self.config = config

    def load_target(self):
        c = self.config
        return load_image_target(c.target, c.validation_per_class, c.data_dir, c.limit)

    def inputs(self, target, backbone):
        return target  # raw pixels: the models rescale inside

    def load_backbone(self, path):
        return load_backbone(path, trainable=True, cut=self.config.cut)

    def scratch_backbone(self, num_classes, first_backbone):
        fresh = CNN.from_preset(self.config.preset, num_classes=num_classes, cut=self.config.cut)
        return extract_backbone(fresh, self.config.cut)

    def features(self, backbone, x):
        return extract_features(backbone, x)

    def classifier(self, backbone, num_classes, rate, steps):
        model = ImageClassifier(backbone, num_classes, head_units=self.config.head.units,
                                dropout=self.config.head.dropout)
        compile_classifier(model, TrainConfig(optimizer="adam"), rate)
        return model


class TextKind:
    """Loads BERT encoders, tokenises the target with their vocabulary and casing, and builds
    text classifiers that carry their preprocessor."""

    def __init__(self, config):
        self.config = config
        self._tokenised = {}
        self._preprocessors = {}  # id(encoder) -> the BertTextPreprocessor of its vocabulary

    def load_target(self):
        c = self.config
        return load_text_target(c.target, c.validation_per_class, c.data_dir, c.limit)

    def load_backbone(self, path):
        recorded = resolve(path, hint=ENCODER_HINT).lowercase
        lowercase = self.config.lowercase
        if lowercase is None:
            lowercase = True if recorded is None else bool(recorded)
        encoder, vocab = load_encoder(path, trainable=True)
        self._preprocessors[id(encoder)] = BertTextPreprocessor(vocab, sequence_length=self.config.seq_length,
                                                                lowercase=lowercase)
        return encoder

    def scratch_backbone(self, num_classes, first_backbone):
        if first_backbone is None:
            raise DataError("a text report from scratch needs a backbone's vocabulary: list one in backbones")
        preprocessor = self._preprocessors[id(first_backbone)]
        encoder = BertEncoder.from_preset(
            self.config.preset,
            vocabulary_size=preprocessor.vocabulary_size,
            dropout=self.config.dropout,
            max_sequence_length=max(512, self.config.seq_length),
        )
        self._preprocessors[id(encoder)] = preprocessor
        return encoder

    def inputs(self, target, backbone):
        """The target with its texts tokenised for ``backbone`` (once per vocabulary and casing)."""
        preprocessor = self._preprocessors[id(backbone)]
        key = (vocabulary_hash(preprocessor.vocabulary), preprocessor.lowercase)
        if key not in self._tokenised:
            self._tokenised[key] = dataclasses.replace(
                target, x_pool=tokenise(preprocessor, target.x_pool), x_val=tokenise(preprocessor, target.x_val),
                x_test=tokenise(preprocessor, target.x_test))
        return self._tokenised[key]

    def features(self, backbone, x):
        batches = tf.data.Dataset.from_tensor_slices(x).batch(256)
        return np.asarray(pooling_model(backbone).predict(batches, verbose=0), np.float32)

    def classifier(self, backbone, num_classes, rate, steps):
        train = TextTrainConfig()
        model = TextClassifier(backbone, num_classes, dropout=self.config.dropout,
                               preprocessor=self._preprocessors[id(backbone)])
        compile_classifier(model, train, WarmupLinearDecay(rate, steps, round(steps * train.warmup_fraction)))
        return model


def tokenise(preprocessor, texts):
    """Token ids of ``texts`` (an array of strings, or a tuple of two for pairs) as a dict of
    int32 arrays, tokenised in ``tf.data`` batches with a progress bar."""
    pair = isinstance(texts, tuple)
    count = len(texts[0]) if pair else len(texts)
    ds = tf.data.Dataset.from_tensor_slices(tuple(list(t) for t in texts) if pair else list(texts))
    ds = ds.batch(TOKENISE_BATCH)
    ds = ds.map(lambda first, second: preprocessor((first, second))) if pair else ds.map(preprocessor)
    parts = list(tqdm(ds.as_numpy_iterator(), desc="tokenising", leave=False, disable=count < 4096,
                      total=-(-count // TOKENISE_BATCH)))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
