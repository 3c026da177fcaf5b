"""A BERT encoder with a classification head on its pooled output: what text fine-tuning trains."""

import keras

from kerapre.tasks.task import BackboneTask

ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")


@keras.saving.register_keras_serializable(package="kerapre")
class TextClassifier(BackboneTask, keras.Model):
    """Classifies text (single sentences or sentence pairs) with a BERT encoder.

    The encoder's ``pooled_output`` (the tanh dense over ``[CLS]``) goes through dropout
    and a dense layer to ``num_classes`` float32 logits, as in BERT's fine-tuning recipe.
    Whether examples are single sentences or pairs is the preprocessor's business
    (``kerapre.data.BertTextPreprocessor``): the model sees only token ids.

    The encoder's trainability is left as it is: freeze it with
    ``encoder.trainable = False`` (or ``load_encoder(..., trainable=False)``) before
    compiling.

    Inputs (dict): ``token_ids``, ``segment_ids``, ``padding_mask`` (int32 ``[batch, seq]``).
    Outputs: logits ``[batch, num_classes]`` (float32 under any precision policy).

    Args:
        backbone: a ``kerapre.models.BertEncoder`` (any model with those inputs and a
            ``pooled_output`` output).
        num_classes: number of output logits.
        dropout: dropout rate on the pooled output.

    Examples:

    ```python
    encoder = kerapre.models.BertEncoder.from_preset("bert_tiny", vocabulary_size=len(vocab))
    model = kerapre.tasks.TextClassifier(encoder, num_classes=2)
    preprocessor = kerapre.data.BertTextPreprocessor(vocab, sequence_length=64)
    model.compile("adamw", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train.map(preprocessor), epochs=3)
    model.predict(preprocessor(["A gripping, moving film."]))  # (1, 2) logits
    ```
    """

    def __init__(self, backbone, num_classes, dropout=0.1, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        self.output_dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype="float32",
            name="logits",
        )

        # === Functional Model ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in ENCODER_INPUTS}
        pooled = backbone(inputs)["pooled_output"]
        outputs = self.output_dense(self.output_dropout(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.dropout = dropout

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "name": self.name,
            "trainable": self.trainable,
        }
