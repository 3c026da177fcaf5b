"""Backbones and presets."""

from kerapre.models import bert
from kerapre.models.bert import BertEncoder
from kerapre.models.cnn import CNN, DEFAULT_CUT, PRESETS, backbone_of


def list_presets():
    """Names of every CNN preset (``kerapre.models.bert.PRESETS`` lists the BERT ones)."""
    return sorted(PRESETS)


__all__ = ["CNN", "BertEncoder", "DEFAULT_CUT", "PRESETS", "backbone_of", "bert", "list_presets"]
