"""Task models: a backbone, a head and what they are trained for."""

from kerapre.tasks.image_classifier import ImageClassifier

__all__ = ["ImageClassifier"]
