"""Where runs and exports go when no path is given: the Python API and the CLI share these."""

import os

RUNS_DIR = "runs"
EXPORT_DIR = "saved_models"
CNN_PRETRAIN_DIR = os.path.join(RUNS_DIR, "cnn_pretrain")
CNN_FINETUNE_DIR = os.path.join(RUNS_DIR, "cnn_finetune")
BERT_PRETRAIN_DIR = os.path.join(RUNS_DIR, "bert_pretrain")
TEXT_FINETUNE_DIR = os.path.join(RUNS_DIR, "text_finetune")
SSL_PRETRAIN_DIRS = {method: os.path.join(RUNS_DIR, f"{method}_pretrain") for method in ("simclr", "rotation")}
QUICKSTART_DIR = os.path.join(RUNS_DIR, "quickstart")
TEXT_EXPORT = os.path.join(EXPORT_DIR, "rotten_tomatoes")
# `backbone: auto` of image fine-tuning: the latest export of `kerapre export`'s default run, else the run.
AUTO_IMAGE_BACKBONES = (os.path.join(EXPORT_DIR, "cnn_pretrain-backbone"), CNN_PRETRAIN_DIR)
