"""A TensorBoard profile of kerapre's CNN training step at ``kerapre pretrain cnn``'s defaults
(bf16, batch 256, 8 steps per call; the ``cnn_training.py`` set-up, decoded images cached), and
its top costs by op type: ``profile_bert_step.py --side "cnn kerapre defaults"`` under its own
result name. Options as for ``profile_bert_step.py`` (``--steps`` counts training steps).

    python benchmarks/profile_cnn_step.py [--steps 64] [--quick]
"""

import os
import sys

import profile_bert_step

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.argv[1:1] = ["--side", "cnn kerapre defaults", "--steps", "64", "--name", "profile_cnn_step"]
    profile_bert_step.main()
