"""The one resolver: what each kind of path holds, and every command asks it before reading a path."""

import json
import os

import numpy as np
import pytest

import kerapre
from kerapre import cli
from kerapre.errors import ArtifactError, DataError, ExportError
from kerapre.export import resolve as resolver
from kerapre.export import runs as run_loaders
from kerapre.export.resolve import resolve


def _write(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def _export(directory, fmt, **extra):
    _write(os.path.join(directory, "saved_model.pb"))
    _write(os.path.join(directory, "assets.extra", "kerapre.json"), json.dumps({"format": fmt, **extra}))
    return directory


def test_each_kind_of_path_is_named(tmp_path):
    run = tmp_path / "run"
    _write(run / "run.json", json.dumps({"task": "finetune_text", "config": {}, "lowercase": False,
                                         "label_names": ["neg", "pos"]}))
    artifact = resolve(run)
    assert (artifact.kind, artifact.task, artifact.lowercase, artifact.label_names) == (
        "run", "finetune_text", False, ["neg", "pos"])
    stopped = tmp_path / "stopped"
    _write(stopped / "config.yaml")
    os.makedirs(stopped / "checkpoints")
    assert resolve(stopped).kind == "run" and resolve(stopped).record is None
    assert resolve(_write(str(tmp_path / "m.keras"))).kind == "keras"
    assert resolve(_write(str(stopped / "checkpoints" / "latest.weights.h5"))).kind == "checkpoint"
    serving = tmp_path / "rt"
    _export(str(serving / "1"), "serving", task="text_classification")
    _export(str(serving / "3"), "serving", task="text_classification", vocab_size=9)
    artifact = resolve(serving)  # the parent of versions means the highest
    assert (artifact.kind, artifact.path, artifact.task) == ("serving", str(serving / "3"), "text_classification")
    assert artifact.metadata["vocabulary_size"] == 9  # kerapre 0.1's spelling read as today's
    assert resolve(_export(str(tmp_path / "cnn-backbone" / "2"), "backbone")).kind == "backbone"
    hub_version = tmp_path / "bert-hub" / "1"
    _export(str(hub_version / "encoder"), "hub_encoder", lowercase=True)
    _export(str(hub_version / "preprocessor"), "hub_preprocessor")
    for given in (tmp_path / "bert-hub", hub_version, hub_version / "encoder", hub_version / "preprocessor"):
        artifact = resolve(given)
        assert (artifact.kind, artifact.path, artifact.lowercase) == ("hub", str(hub_version), True), given
    keras_export = tmp_path / "cnn-keras"
    _write(str(keras_export / "1" / "model.keras"))
    assert resolve(keras_export).kind == "keras" and resolve(keras_export).path.endswith("1/model.keras")
    _write(str(tmp_path / "preset" / "config.json"), "{}")
    assert resolve(tmp_path / "preset").kind == "keras_hub_preset"
    assert resolve(_export(str(tmp_path / "other"), None)).kind == "saved_model"


def test_missing_and_unreadable_paths_and_wrong_kinds_name_the_fix(tmp_path):
    with pytest.raises(ArtifactError, match="nowhere does not exist: pass a run"):
        resolve(tmp_path / "nowhere")
    with pytest.raises(ArtifactError, match="holds no model kerapre can read"):
        resolve(tmp_path)
    serving = _export(str(tmp_path / "rt" / "1"), "serving")
    with pytest.raises(ArtifactError, match=r"is a TF Serving export \(.*rt/1\), not an image backbone: pass a b"):
        resolve(serving).expect(("backbone",), "an image backbone", "pass a backbone export")
    assert issubclass(ArtifactError, DataError) and issubclass(ArtifactError, ExportError)


class Resolved(Exception):
    """Raised by the spy in place of the resolver's look at a path."""


@pytest.fixture
def spy(monkeypatch, tmp_path):
    """An existing path whose every look goes through ``resolve`` and raises ``Resolved``."""
    def inspect(path):
        raise Resolved(path)

    monkeypatch.setattr(resolver, "_inspect", inspect)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "artefact"
    os.makedirs(path)
    return str(path)


@pytest.mark.parametrize("argv", [
    ["export", "--model-dir", "{}"],
    ["evaluate", "--model", "{}"],
    ["predict", "--model", "{}", "a text"],
    ["finetune", "image", "--backbone", "{}", "--set", "data.limit=64"],
    ["finetune", "text", "--backbone", "{}"],
    ["pretrain", "bert", "--init", "{}"],
    ["report", "image", "--backbone", "x={}"],
    ["report", "text", "--backbone", "x={}"],
])
def test_every_command_resolves_its_paths_through_the_resolver(spy, argv):
    with pytest.raises(Resolved, match="artefact"):
        cli.main([arg.format(spy) for arg in argv])


@pytest.mark.parametrize("call", [
    lambda p: kerapre.load_backbone(p),
    lambda p: kerapre.load_encoder(p),
    lambda p: kerapre.extract_features(p, np.zeros((1, 28, 28, 1))),
    lambda p: kerapre.extract_text_features(p, ["a text"]),
    lambda p: kerapre.predict_text(p, ["a text"]),
    lambda p: run_loaders.load_image_run(p),
    lambda p: run_loaders.load_text_run(p),
])
def test_every_loader_resolves_its_path_through_the_resolver(spy, call):
    with pytest.raises(Resolved, match="artefact"):
        call(spy)
