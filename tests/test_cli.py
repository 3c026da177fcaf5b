import csv
import os
import subprocess
import sys

import pytest

from kerapre import cli

KERAPRE = os.path.join(os.path.dirname(sys.executable), "kerapre")
TINY = ["--set", "data.name=mnist_5k", "--set", "data.limit=128", "--set", "data.batch_size=32",
        "--set", "train.epochs=1", "--set", "train.verbose=0"]


def test_console_script_help_and_version():
    out = subprocess.run([KERAPRE, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("pretrain", "finetune", "export", "evaluate", "quickstart"):
        assert command in out
    version = subprocess.run([KERAPRE, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("kerapre ")


@pytest.mark.parametrize("argv", [["pretrain", "cnn"], ["finetune", "image"], ["export"], ["evaluate"], ["quickstart"]])
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--help"])
    assert exit_info.value.code == 0
    assert "usage: kerapre" in capsys.readouterr().out


def test_bad_override_is_one_line_and_exit_2():
    done = subprocess.run([KERAPRE, "pretrain", "cnn", "--set", "train.epoch=2"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "kerapre: error: unknown config key 'train.epoch' (did you mean 'epochs'?)"
    )


def test_pretrain_export_finetune_evaluate_chain(in_tmp, capsys):
    assert cli.main(["pretrain", "cnn", *TINY]) == 0
    assert os.path.exists("runs/cnn_pretrain/model.keras")
    assert cli.main(["export"]) == 0
    out = capsys.readouterr().out
    assert "saved_models/cnn_pretrain/1" in out and "saved_models/cnn_pretrain-backbone/1" in out
    # The default backbone is the export just written.
    assert cli.main(["finetune", "image", "--set", "labels_per_class=2", "--set", "data.limit=300",
                     "--set", "train.epochs=1", "--set", "train.verbose=0"]) == 0
    assert "fine-tuned on 20 labelled examples" in capsys.readouterr().out
    assert cli.main(["evaluate", "--model", "saved_models/cnn_pretrain", "--data", "mnist_5k"]) == 0
    served = capsys.readouterr().out
    assert "accuracy" in served and "over 2000 examples" in served
    assert cli.main(["evaluate"]) == 0  # the fine-tuned run, on its own eval split


def test_export_refuses_an_existing_version(in_tmp, capsys):
    assert cli.main(["pretrain", "cnn", *TINY]) == 0
    assert cli.main(["export", "--format", "serving", "--version", "3"]) == 0
    assert cli.main(["export", "--format", "serving", "--version", "3"]) == 2
    assert "already exists: pass --overwrite" in capsys.readouterr().err
    assert cli.main(["export", "--format", "serving", "--version", "3", "--overwrite"]) == 0


def test_missing_inputs_name_the_fix(in_tmp, capsys):
    assert cli.main(["export", "--model-dir", "nowhere"]) == 2
    assert "nowhere does not exist: pass --model-dir of a training run" in capsys.readouterr().err
    assert cli.main(["finetune", "image"]) == 2
    assert "run `kerapre pretrain cnn` and `kerapre export` first" in capsys.readouterr().err
    assert cli.main(["evaluate", "--model", "missing.keras"]) == 2
    assert cli.main(["pretrain", "cnn", "--set", "data.name=no_such_dataset_xyz"]) == 2
    assert "no_such_dataset_xyz" in capsys.readouterr().err


def test_quickstart_cnn_stage_writes_the_report(in_tmp, capsys):
    argv = ["quickstart", "--stage", "cnn",
            "--set", "cnn.pretrain.data.name=mnist_5k", "--set", "cnn.pretrain.data.limit=256",
            "--set", "cnn.pretrain.train.epochs=1", "--set", "cnn.pretrain.train.verbose=0",
            "--set", "cnn.seeds=[0, 1]", "--set", "cnn.finetune.train.epochs=2",
            "--set", "cnn.finetune.labels_per_class=3", "--set", "cnn.finetune.validation_per_class=5",
            "--set", "cnn.finetune.data.limit=400"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "scratch" in out and "frozen" in out and "trainable" in out and "stage took" in out
    assert "verdict: pretrained (" in out and "chosen on validation" in out  # the report's rule
    with open("runs/quickstart/cnn/results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["method"], r["seed"]) for r in rows] == [
        (m, s) for m in ("scratch", "frozen", "trainable") for s in ("0", "1")
    ]
    assert all(0 <= float(r["test_accuracy"]) <= 1 and 0 <= float(r["validation_accuracy"]) <= 1 for r in rows)
    with open("runs/quickstart/cnn/accuracy.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.exists("saved_models/cnn_fashion/1/saved_model.pb")


def test_keras_export_loads_in_a_fresh_process(in_tmp):
    assert cli.main(["pretrain", "cnn", *TINY]) == 0
    assert cli.main(["export", "--format", "keras"]) == 0
    code = ("import kerapre; b = kerapre.load_backbone('saved_models/cnn_pretrain-keras/1/model.keras'); "
            "print(b.output_shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "(None, 1600)" in out


def test_finetune_backbone_from_set_is_respected(in_tmp, capsys):
    # No export exists: a backbone given with --set must be used, not the default lookup.
    assert cli.main(["finetune", "image", "--set", "backbone=scratch", "--set", "labels_per_class=1",
                     "--set", "data.limit=100", "--set", "train.epochs=1", "--set", "train.verbose=0"]) == 0
    assert "fine-tuned on 10 labelled examples" in capsys.readouterr().out


class Captured(Exception):
    """Raised by a stand-in workflow with the config the CLI built."""


@pytest.mark.parametrize("argv, module, function, config_class", [
    (["pretrain", "cnn"], "kerapre.workflows.pretrain_cnn", "pretrain_cnn", "CNNPretrainConfig"),
    (["pretrain", "simclr"], "kerapre.workflows.pretrain_ssl", "pretrain_ssl", "SSLPretrainConfig"),
    (["pretrain", "bert"], "kerapre.workflows.pretrain_bert", "pretrain_bert", "BertPretrainConfig"),
    (["finetune", "image"], "kerapre.workflows.finetune_image", "finetune_image", "FinetuneConfig"),
    (["finetune", "text"], "kerapre.workflows.finetune_text", "finetune_text", "FinetuneTextConfig"),
    (["report", "image"], "kerapre.report.label_efficiency", "label_efficiency", "ImageReportConfig"),
    (["report", "text"], "kerapre.report.label_efficiency", "label_efficiency", "TextReportConfig"),
    (["quickstart"], "kerapre.workflows.quickstart", "quickstart", "QuickstartConfig"),
])
def test_the_cli_with_no_flags_runs_the_python_defaults(monkeypatch, argv, module, function, config_class):
    import importlib

    from kerapre import config as cfg

    def capture(config, *args, **kwargs):
        raise Captured(config)

    monkeypatch.setattr(importlib.import_module(module), function, capture)
    with pytest.raises(Captured) as captured:
        cli.main(argv)
    built, python = cfg.to_dict(captured.value.args[0]), cfg.to_dict(cfg.load_config(getattr(cfg, config_class)))
    differ = {key for key in _leaves(python) if _leaves(built).get(key) != _leaves(python)[key]}
    assert not differ, f"`kerapre {' '.join(argv)}` and the Python API differ in {sorted(differ)}"


def _leaves(values, prefix=""):
    out = {}
    for key, value in values.items():
        out.update(_leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value})
    return out
