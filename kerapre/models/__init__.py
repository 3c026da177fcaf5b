"""Backbones and presets."""

from kerapre.models.cnn import CNN, DEFAULT_CUT, PRESETS, backbone_of


def list_presets():
    """Names of every model preset."""
    return sorted(PRESETS)


__all__ = ["CNN", "DEFAULT_CUT", "PRESETS", "backbone_of", "list_presets"]
