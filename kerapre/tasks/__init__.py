"""Task models: a backbone, a head and what they are trained for."""

from kerapre.tasks.bert_pretrainer import BertPretrainer, MaskedLMPerplexity
from kerapre.tasks.image_classifier import ImageClassifier

__all__ = ["BertPretrainer", "ImageClassifier", "MaskedLMPerplexity"]

from kerapre.tasks.text_classifier import TextClassifier  # noqa: E402

__all__ += ["TextClassifier"]

# Self-supervised pretraining of image backbones: no labels read.
from kerapre.tasks.contrastive import ContrastivePretrainer, nt_xent_loss  # noqa: E402
from kerapre.tasks.rotation import RotationPretrainer  # noqa: E402

__all__ += ["ContrastivePretrainer", "RotationPretrainer", "nt_xent_loss"]
