import pytest
import yaml

from kerapre.config import (
    BertPretrainConfig,
    CNNPretrainConfig,
    FinetuneConfig,
    QuickstartConfig,
    load_config,
    save_config,
)
from kerapre.errors import ConfigError


def test_defaults_are_valid():
    config = load_config(CNNPretrainConfig)
    assert (config.data.name, config.model.preset, config.model.cut) == ("fashion_mnist_local", "cnn_mnist", "flatten")
    assert load_config(FinetuneConfig).data.name == "mnist_5k"


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 5\n  learning_rate: 0.01\ndata:\n  batch_size: 16\n")
    config = load_config(CNNPretrainConfig, str(path), ["train.epochs=7", "data.limit=100", "train.strategy=mirrored"])
    assert config.train.epochs == 7 and config.train.learning_rate == 0.01
    assert config.data.batch_size == 16 and config.data.limit == 100 and config.train.strategy == "mirrored"


def test_saved_config_round_trips(tmp_path):
    config = load_config(QuickstartConfig, overrides=["cnn.seeds=[4, 5]", "cnn.finetune.labels_per_class=5"])
    save_config(config, tmp_path / "config.yaml")
    again = load_config(QuickstartConfig, str(tmp_path / "config.yaml"))
    assert again == config
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["cnn"]["seeds"] == [4, 5]


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epoch=3", r"unknown config key 'train.epoch' \(did you mean 'epochs'\?\)"),
        ("trian.epochs=3", r"unknown config key 'trian' \(did you mean 'train'\?\)"),
        ("train.epochs=three", "train.epochs must be an integer, got 'three'"),
        ("train.epochs=0", "train.epochs must be positive"),
        ("train.strategy=gpu", "train.strategy must be one of"),
        ("model.preset=resnet", "unknown model.preset 'resnet'"),
        ("train.jit_compile=maybe", "train.jit_compile must be true, false or auto"),
        ("epochs", "is not key=value"),
    ],
)
def test_bad_overrides_name_the_fix(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(CNNPretrainConfig, overrides=[override])


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist: check the --config path"):
        load_config(CNNPretrainConfig, str(tmp_path / "missing.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="is not valid YAML at line"):
        load_config(CNNPretrainConfig, str(broken))
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(CNNPretrainConfig, str(listy))


def test_scientific_notation_and_contradictions():
    assert load_config(CNNPretrainConfig, overrides=["train.learning_rate=1e-3"]).train.learning_rate == 0.001
    with pytest.raises(ConfigError, match="model.cut 'foo' is not a layer of cnn_mnist"):
        load_config(CNNPretrainConfig, overrides=["model.cut=foo"])
    with pytest.raises(ConfigError, match="two_phase unfreezes the backbone"):
        load_config(FinetuneConfig, overrides=["two_phase=true", "trainable=false"])
    with pytest.raises(ConfigError, match="steps_per_epoch 250 is not a multiple of train.steps_per_execution 8.*e.g. 248"):
        load_config(BertPretrainConfig, overrides=["train.steps_per_execution=8"])
    assert load_config(BertPretrainConfig, overrides=["train.steps_per_execution=10"]).train.steps_per_execution == 10
