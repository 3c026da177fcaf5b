"""The model presets as data: configs check names against them, ``kerapre.models`` builds from them.

They live here, not in ``kerapre.models``, so that a config is checked before TensorFlow is
imported and imports run one way (config → data → models).
"""

CNN_PRESETS = {
    # Conv2D 32 -> MaxPool -> Conv2D 64 -> MaxPool -> Flatten -> Dense 128 -> Dense 10.
    "cnn_mnist": dict(
        image_shape=(28, 28, 1),
        conv_filters=(32, 64),
        pool_after=(True, True),
        dense_units=(128,),
        num_classes=10,
    ),
    # Conv2D 32 -> MaxPool -> Conv2D 64 -> MaxPool -> Conv2D 64 -> Flatten -> Dense 64 -> Dense 10.
    "cnn_cifar": dict(
        image_shape=(32, 32, 3),
        conv_filters=(32, 64, 64),
        pool_after=(True, True, False),
        dense_units=(64,),
        num_classes=10,
    ),
}

BERT_PRESETS = {
    # The compact BERT family (Turc et al. 2019); intermediate size is 4 × hidden.
    "bert_tiny": dict(num_layers=2, hidden_dim=128, num_heads=2),
    "bert_mini": dict(num_layers=4, hidden_dim=256, num_heads=4),
    "bert_small": dict(num_layers=4, hidden_dim=512, num_heads=8),
    "bert_medium": dict(num_layers=8, hidden_dim=512, num_heads=8),
    "bert_base": dict(num_layers=12, hidden_dim=768, num_heads=12),
}


def cnn_layer_names(preset):
    """The layer names of a CNN preset, input excluded, without building it."""
    spec = CNN_PRESETS[preset]
    names = ["rescale"]
    for i, pool in enumerate(spec["pool_after"], start=1):
        names += [f"conv_{i}"] + ([f"pool_{i}"] if pool else [])
    names.append("flatten")
    names += [f"dense_{i}" for i in range(1, len(spec["dense_units"]) + 1)]
    return names + ["logits"]
