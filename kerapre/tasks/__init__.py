"""Task models: a backbone, a head and what they are trained for."""

from kerapre.tasks.bert_pretrainer import BertPretrainer, MaskedLMPerplexity
from kerapre.tasks.image_classifier import ImageClassifier

__all__ = ["BertPretrainer", "ImageClassifier", "MaskedLMPerplexity"]

from kerapre.tasks.text_classifier import TextClassifier  # noqa: E402

__all__ += ["TextClassifier"]
