"""Typed experiment configs: dataclasses that load from YAML and take ``key=value`` overrides.

An experiment is data. Each workflow has a config dataclass made of sections (``data``,
``model``, ``train``); a config is validated before any training starts and saved next to
the outputs it produced. The package:

- ``loader``: YAML and overrides into dataclasses, type checks, ``validate``;
- ``runtime``: ``RuntimeConfig`` (strategy, precision, XLA, steps per call, seed, verbose)
  and ``OptimizerConfig``, inherited by every ``train`` section;
- ``presets``: the CNN and BERT preset tables the model sections are checked against;
- ``paths``: where runs and exports go by default (the CLI uses the same);
- one module per workflow: ``cnn``, ``ssl``, ``bert``, ``text``, ``report``, ``quickstart``;
- ``reference``: the key tables of docs/cli.md, generated from the fields and docstrings.

Examples:

```python
from kerapre.config import CNNPretrainConfig, load_config

config = load_config(CNNPretrainConfig, overrides=["train.epochs=1", "data.batch_size=32"])
config.train.epochs  # 1
```
"""

from kerapre.config.bert import BertDataConfig, BertModelConfig, BertPresetConfig, BertPretrainConfig, BertTrainConfig
from kerapre.config.cnn import (
    AUTO,
    CNNPretrainConfig,
    CNNTrainConfig,
    DataConfig,
    FinetuneConfig,
    FinetuneDataConfig,
    FinetuneTrainConfig,
    HeadConfig,
    ModelConfig,
    TrainConfig,
)
from kerapre.config.loader import apply_overrides, from_dict, load_config, save_config, to_dict, validate
from kerapre.config.quickstart import (
    QuickstartBertConfig,
    QuickstartCNNConfig,
    QuickstartConfig,
    QuickstartReportConfig,
)
from kerapre.config.report import (
    REPORT_METHODS,
    ImageReportConfig,
    ReportLearningRates,
    ReportTrainConfig,
    TextReportConfig,
    TextReportTrainConfig,
)
from kerapre.config.runtime import OPTIMIZERS, PRECISIONS, STRATEGIES, OptimizerConfig, RuntimeConfig, TrainingConfig
from kerapre.config.ssl import SSL_METHODS, AugmentConfig, SSLDataConfig, SSLModelConfig, SSLPretrainConfig, SSLTrainConfig
from kerapre.config.text import (
    FinetuneTextConfig,
    TextDataConfig,
    TextHeadConfig,
    TextModelConfig,
    TextTrainConfig,
)

__all__ = [
    "AUTO",
    "AugmentConfig",
    "BertDataConfig",
    "BertModelConfig",
    "BertPresetConfig",
    "BertPretrainConfig",
    "BertTrainConfig",
    "CNNPretrainConfig",
    "CNNTrainConfig",
    "DataConfig",
    "FinetuneConfig",
    "FinetuneDataConfig",
    "FinetuneTextConfig",
    "FinetuneTrainConfig",
    "HeadConfig",
    "ImageReportConfig",
    "ModelConfig",
    "OPTIMIZERS",
    "OptimizerConfig",
    "PRECISIONS",
    "QuickstartBertConfig",
    "QuickstartCNNConfig",
    "QuickstartConfig",
    "QuickstartReportConfig",
    "REPORT_METHODS",
    "ReportLearningRates",
    "ReportTrainConfig",
    "RuntimeConfig",
    "SSLDataConfig",
    "SSLModelConfig",
    "SSLPretrainConfig",
    "SSLTrainConfig",
    "SSL_METHODS",
    "STRATEGIES",
    "TextDataConfig",
    "TextHeadConfig",
    "TextModelConfig",
    "TextReportConfig",
    "TextReportTrainConfig",
    "TextTrainConfig",
    "TrainConfig",
    "TrainingConfig",
    "apply_overrides",
    "from_dict",
    "load_config",
    "save_config",
    "to_dict",
    "validate",
]
