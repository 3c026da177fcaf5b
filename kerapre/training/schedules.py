"""Learning-rate schedules."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerapre")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``peak`` over ``warmup_steps``, then linear decay to
    ``end`` at ``total_steps`` (BERT's schedule).

    Args:
        peak: the learning rate at the end of warm-up.
        total_steps: the step at which the rate reaches ``end``.
        warmup_steps: length of the warm-up.
        end: the final learning rate.

    Examples:

    ```python
    schedule = WarmupLinearDecay(1e-3, total_steps=3000, warmup_steps=300)
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=0.01)
    ```
    """

    def __init__(self, peak, total_steps, warmup_steps=0, end=0.0):
        self.peak = peak
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.end = end

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = ops.cast(max(self.warmup_steps, 1), "float32")
        decay_steps = ops.cast(max(self.total_steps - self.warmup_steps, 1), "float32")
        warm = self.peak * step / warmup
        progress = ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        decayed = self.peak + (self.end - self.peak) * progress
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "end": self.end}
