"""BERT pretraining: a masked-LM head tied to the token embedding plus a next-sentence head."""

import keras
import keras_hub
from keras import ops

from kerapre.models.bert import activation_function
from kerapre.tasks.task import BackboneTask


@keras.saving.register_keras_serializable(package="kerapre")
class MaskedLMPerplexity(keras.metrics.Metric):
    """exp(mean cross-entropy) over the masked positions (weights = mask weights), exactly.

    It computes the cross-entropy over the whole vocabulary again, a second time after the
    loss (9% of a bert_mini step), so ``BertPretrainer`` does not use it by default and logs
    exp(MLM loss) as ``mlm_perplexity`` instead; pass it in ``weighted_metrics`` where the
    exact per-token figure is worth the time.
    """

    def __init__(self, name="mlm_perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable((), initializer="zeros", name="total")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        losses = keras.losses.sparse_categorical_crossentropy(y_true, ops.cast(y_pred, "float32"), from_logits=True)
        weights = ops.ones_like(losses) if sample_weight is None else ops.cast(sample_weight, "float32")
        self.total.assign_add(ops.sum(losses * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total, self.count))

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


@keras.saving.register_keras_serializable(package="kerapre")
class BertPretrainer(BackboneTask, keras.Model):
    """Masked-LM + next-sentence prediction over a ``BertEncoder``.

    The MLM head (dense → GELU → layer norm → the token embedding transposed, plus a bias)
    computes logits only at ``mask_positions``; the NSP head is a dense layer on the pooled
    output, so the pooler is trained too (keras-hub's ``BertMaskedLM`` leaves it untrained).

    Inputs (dict): the encoder's ``token_ids``, ``segment_ids``, ``padding_mask`` and
    ``mask_positions`` (int32 ``[batch, max_predictions]``).
    Outputs (dict): ``mlm`` logits ``[batch, max_predictions, vocabulary]`` and, unless
    ``next_sentence=False``, ``nsp`` logits ``[batch, 2]`` (class 0: B follows A).

    Args:
        encoder: a ``kerapre.models.BertEncoder``.
        next_sentence: add the NSP head and loss (``False``: MLM only).

    Examples:

    ```python
    pretrainer = BertPretrainer(BertEncoder.from_preset("bert_tiny", vocabulary_size=8192))
    pretrainer.compile(optimizer="adamw")  # MLM + NSP losses and metrics by default
    pretrainer.fit(masked_pairs_dataset, steps_per_epoch=100)
    ```
    """

    backbone_key = "encoder"  # where get_config keeps the serialised encoder

    def __init__(self, encoder, next_sentence=True, **kwargs):
        # === Layers ===
        self.encoder = encoder
        self.mlm_head = keras_hub.layers.MaskedLMHead(
            token_embedding=encoder.token_embedding,
            intermediate_activation=activation_function(getattr(encoder, "activation", "gelu_approximate")),
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            layer_norm_epsilon=getattr(encoder, "layer_norm_epsilon", 1e-12),
            dtype=encoder.dtype_policy,
            name="mlm_head",
        )
        self.nsp_head = (
            keras.layers.Dense(2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                               dtype="float32", name="nsp_head")
            if next_sentence else None
        )

        # === Functional Model ===
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in ("token_ids", "segment_ids", "padding_mask", "mask_positions")
        }
        encoded = encoder({k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")})
        outputs = {"mlm": self.mlm_head(encoded["sequence_output"], mask_positions=inputs["mask_positions"])}
        if self.nsp_head is not None:
            outputs["nsp"] = self.nsp_head(encoded["pooled_output"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.next_sentence = next_sentence

    def compile(self, optimizer="adamw", loss="auto", metrics="auto", weighted_metrics="auto", **kwargs):
        """Compiles with the pretraining losses (MLM cross-entropy averaged over the masked
        tokens + NSP cross-entropy) and metrics (MLM accuracy, NSP accuracy) unless they are
        given; ``mlm_perplexity`` is added to the logs from the MLM loss (see
        ``get_metrics_result``)."""
        if loss == "auto":
            loss = {"mlm": keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight", name="mlm_loss")}
            if self.next_sentence:
                loss["nsp"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="nsp_loss")
        if weighted_metrics == "auto":
            weighted_metrics = {"mlm": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]}
        if metrics == "auto":
            metrics = {"nsp": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]} if self.next_sentence else None
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, weighted_metrics=weighted_metrics, **kwargs)

    def get_metrics_result(self):
        """The metrics, plus ``mlm_perplexity``: exp of the MLM loss (the mean over batches of
        each batch's mean cross-entropy over its masked positions). Derived from the loss
        rather than a metric of its own, which would compute the cross-entropy over the
        whole vocabulary a second time: 9% of a bert_mini step (docs/benchmarks.md)."""
        results = super().get_metrics_result()
        mlm_loss = results.get("mlm_loss", None if self.next_sentence else results.get("loss"))
        if mlm_loss is not None and "mlm_perplexity" not in results:  # a MaskedLMPerplexity metric wins
            results["mlm_perplexity"] = ops.exp(ops.cast(mlm_loss, "float32"))
        return results

    def compile_from_config(self, config):
        # Restores the optimizer of a saved pretrainer; losses and metrics are the defaults.
        optimizer = config.get("optimizer")
        self.compile(optimizer=keras.optimizers.deserialize(optimizer) if optimizer else "adamw")

    def get_config(self):
        return {
            "encoder": keras.layers.serialize(self.encoder),
            "next_sentence": self.next_sentence,
            "name": self.name,
            "trainable": self.trainable,
        }
