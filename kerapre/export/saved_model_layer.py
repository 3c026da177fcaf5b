"""``SavedModelLayer``: a reloaded SavedModel as a Keras 3 layer that trains."""

import keras


@keras.saving.register_keras_serializable(package="kerapre")
class SavedModelLayer(keras.layers.TFSMLayer):
    """``keras.layers.TFSMLayer`` that trains with Adam and AdamW.

    Workaround, keras 3.15 (``keras/src/export/tfsm_layer.py``, ``_add_existing_weight``):
    stock TFSMLayer names its weights after the SavedModel variables with ``/``
    replaced but ``:0`` kept, and Adam's slot variables (``<name>_momentum``) then fail
    with "'...:0_momentum' is not a valid scope name". Dropping ``:`` as well fixes it;
    ``tests/test_reload.py`` fails the day the upstream layer no longer needs this.
    """

    def _add_existing_weight(self, weight):
        variable = keras.Variable(
            initializer=weight,
            trainable=weight.trainable,
            dtype=weight.dtype,
            shape=weight.shape,
            name=weight.name.replace("/", "_").replace(":", "_"),
        )
        self._track_variable(variable)
