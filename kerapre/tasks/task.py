"""What kerapre's task models share: a backbone stored inside their config."""

import keras


class BackboneTask:
    """Mixin for a task model (``keras.Model``) that wraps a backbone.

    The task's ``get_config`` stores its backbone serialised under ``backbone_key``;
    ``from_config`` deserialises it before calling the constructor, as keras-hub's task
    models do, so every task round-trips through ``.keras`` files with ``safe_mode`` on.

    Examples:

    ```python
    @keras.saving.register_keras_serializable(package="kerapre")
    class MyTask(BackboneTask, keras.Model):
        def get_config(self):
            return {"backbone": keras.layers.serialize(self.backbone), "name": self.name}
    ```
    """

    backbone_key = "backbone"

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config[cls.backbone_key] = keras.layers.deserialize(config[cls.backbone_key])
        return cls(**config)
