"""The small CNNs of the Keras tutorials, as functional models with a named backbone cut."""

import keras

from kerapre.config.presets import CNN_PRESETS as PRESETS

DEFAULT_CUT = "flatten"


@keras.saving.register_keras_serializable(package="kerapre")
class CNN(keras.Model):
    """A tutorial CNN classifier that takes raw pixels and returns logits.

    The model rescales pixels from 0-255 to 0-1 itself, so an export serves raw
    images. Layers are named so that the backbone can end at any of them: ``rescale``,
    ``conv_1``, ``pool_1``, ..., ``flatten``, ``dense_1``, ..., ``logits``.

    Args:
        image_shape: ``(height, width, channels)`` of the input images.
        conv_filters: filters of each 3x3 ReLU convolution.
        pool_after: for each convolution, whether a 2x2 max-pool follows it.
        dense_units: units of the hidden ReLU Dense layers after ``flatten``.
        num_classes: number of output logits.
        cut: the layer where the backbone ends (see ``kerapre.models.backbone_of``).

    Examples:

    ```python
    model = kerapre.models.CNN.from_preset("cnn_mnist")
    logits = model(np.zeros((2, 28, 28, 1), "uint8"))  # shape (2, 10)
    ```
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        conv_filters=(32, 64),
        pool_after=(True, True),
        dense_units=(128,),
        num_classes=10,
        cut=DEFAULT_CUT,
        **kwargs,
    ):
        if len(pool_after) != len(conv_filters):
            raise ValueError("pool_after needs one entry per convolution in conv_filters")
        # === Layers ===
        rescale = keras.layers.Rescaling(1.0 / 255, name="rescale")
        blocks = []
        for i, (filters, pool) in enumerate(zip(conv_filters, pool_after), start=1):
            blocks.append(keras.layers.Conv2D(filters, 3, activation="relu", name=f"conv_{i}"))
            if pool:
                blocks.append(keras.layers.MaxPooling2D(2, name=f"pool_{i}"))
        flatten = keras.layers.Flatten(name="flatten")
        hidden = [
            keras.layers.Dense(units, activation="relu", name=f"dense_{i}")
            for i, units in enumerate(dense_units, start=1)
        ]
        # Logits stay float32 under a mixed-precision policy for a stable softmax.
        logits = keras.layers.Dense(num_classes, name="logits", dtype="float32")

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(image_shape), name="image")
        x = rescale(inputs)
        for layer in blocks:
            x = layer(x)
        x = flatten(x)
        for layer in hidden:
            x = layer(x)
        outputs = logits(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.image_shape = tuple(image_shape)
        self.conv_filters = tuple(conv_filters)
        self.pool_after = tuple(pool_after)
        self.dense_units = tuple(dense_units)
        self.num_classes = num_classes
        self.cut = cut
        layer_names = [layer.name for layer in self.layers]
        if cut not in layer_names:
            raise ValueError(f"cut {cut!r} is not a layer of this CNN: choose one of {layer_names[1:]}")

    def get_config(self):
        return {
            "image_shape": self.image_shape,
            "conv_filters": self.conv_filters,
            "pool_after": self.pool_after,
            "dense_units": self.dense_units,
            "num_classes": self.num_classes,
            "cut": self.cut,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, **overrides):
        """Builds a preset (``cnn_mnist`` or ``cnn_cifar``) with fresh weights."""
        if preset not in PRESETS:
            from kerapre.errors import ConfigError

            raise ConfigError(f"unknown CNN preset {preset!r}: choose one of {sorted(PRESETS)}")
        return cls(**{**PRESETS[preset], "name": preset, **overrides})


def backbone_of(model, cut=None, name="backbone"):
    """The sub-model of ``model`` from its input up to layer ``cut`` (shares its weights).

    Args:
        model: a functional model, e.g. a ``CNN``.
        cut: the name of the last backbone layer (default: ``model.cut`` or ``flatten``).
        name: the name of the returned model.

    Examples:

    ```python
    backbone = kerapre.models.backbone_of(CNN.from_preset("cnn_mnist"))
    backbone.output.shape  # (None, 1600)
    ```
    """
    cut = cut or getattr(model, "cut", None) or DEFAULT_CUT
    names = [layer.name for layer in model.layers]
    if cut not in names:
        from kerapre.errors import ConfigError

        raise ConfigError(f"cut layer {cut!r} is not in model {model.name!r}: choose one of {names[1:]}")
    return keras.Model(model.input, model.get_layer(cut).output, name=name)
