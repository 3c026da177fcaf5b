"""The two kinds of backbone a label-efficiency report compares: CNNs on images, BERT encoders on text.

Each kind loads its target and its backbones, builds a backbone of the same shape from
scratch, turns the target into model inputs, computes a frozen backbone's features for the
linear probe, and builds a compiled classifier.
"""

import dataclasses


from kerapre.config import TextTrainConfig, TrainConfig
from kerapre.data.image_folder import FolderOptions
from kerapre.data.text_preprocessor import BertTextPreprocessor, tokenise
from kerapre.data.text_table import TableOptions
from kerapre.data.vocab import vocabulary_hash
from kerapre.errors import DataError
from kerapre.export.encoders import ENCODER_HINT, load_encoder, text_casing
from kerapre.export.reload import load_backbone
from kerapre.export.resolve import resolve
from kerapre.models.bert import BertEncoder
from kerapre.models.cnn import CNN, PRESETS
from kerapre.report.features import extract_features, pooled_features
from kerapre.report.targets import load_image_target, load_text_target
from kerapre.tasks.image_classifier import ImageClassifier, extract_backbone
from kerapre.tasks.text_classifier import TextClassifier
from kerapre.training import WarmupLinearDecay
from kerapre.training.compile import compile_classifier


class ImageKind:
    """Loads CNN backbones and builds image classifiers around them."""

    SCRATCH_USES_FIRST_BACKBONE = False  # scratch is the preset's fresh CNN

    def __init__(self, config):
        self.config = config

    def load_target(self):
        c = self.config
        return load_image_target(c.target, c.validation_per_class, c.data_dir, c.limit,
                                 folder=FolderOptions.from_config(c), image_shape=PRESETS[c.preset]["image_shape"],
                                 resize=c.resize)

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

    SCRATCH_USES_FIRST_BACKBONE = True  # scratch takes the first backbone's vocabulary and casing

    def __init__(self, config):
        self.config = config
        self._tokenised = {}
        self._preprocessors = {}  # id(encoder) -> the BertTextPreprocessor of its vocabulary

    def load_target(self):
        c = self.config
        return load_text_target(c.target, c.validation_per_class, c.data_dir, c.limit,
                                table=TableOptions.from_config(c))

    def load_backbone(self, path):
        lowercase, strip_accents = text_casing(resolve(path, hint=ENCODER_HINT), self.config.lowercase,
                                               prefix="[report]", key="lowercase")
        encoder, vocab = load_encoder(path, trainable=True)
        self._preprocessors[id(encoder)] = BertTextPreprocessor(vocab, sequence_length=self.config.seq_length,
                                                                lowercase=lowercase, strip_accents=strip_accents)
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
        key = (vocabulary_hash(preprocessor.vocabulary), preprocessor.lowercase, preprocessor.strip_accents)
        if key not in self._tokenised:
            self._tokenised[key] = dataclasses.replace(
                target, x_pool=tokenise(preprocessor, target.x_pool), x_val=tokenise(preprocessor, target.x_val),
                x_test=tokenise(preprocessor, target.x_test))
        return self._tokenised[key]

    def features(self, backbone, x):
        return pooled_features(backbone, x, self.config.pooling)

    def classifier(self, backbone, num_classes, rate, steps):
        train = TextTrainConfig()
        model = TextClassifier(backbone, num_classes, dropout=self.config.dropout,
                               preprocessor=self._preprocessors[id(backbone)], pooling=self.config.pooling)
        compile_classifier(model, train, WarmupLinearDecay(rate, steps, round(steps * train.warmup_fraction)))
        return model
