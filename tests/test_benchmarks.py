"""The benchmark runner's page: every target and section of the results it finds, nothing made up."""

import json
import pathlib
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def run_all(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    import run_all

    monkeypatch.setattr(common, "RESULTS_DIR", str(tmp_path))
    monkeypatch.setattr(run_all, "RESULTS_DIR", str(tmp_path))
    yield run_all
    for name in ("common", "run_all"):
        sys.modules.pop(name, None)


def _result(tmp_path, name, **result):
    (tmp_path / f"{name}.json").write_text(json.dumps(result))


def test_the_page_gathers_every_target_and_section_it_finds(run_all, tmp_path):
    machine = {"cpu": "Test CPU", "cores": 2, "gpus": 0, "python": "3.11", "tensorflow": "2.21", "keras": "3.15",
               "keras_hub": "0.32", "date": "2026-11-24"}
    _result(tmp_path, "bert_pretraining", title="BERT pretraining step", markdown="| side | x |", machine=machine,
            targets=[{"target": "vs keras-hub", "goal": "≥ 1.15×", "measured": "1.02×", "met": False}])
    _result(tmp_path, "vocab_learning", title="Vocabulary learning", markdown="73× faster", machine=machine,
            targets=[{"target": "vocabulary", "goal": "≥ 50×", "measured": "73×", "met": True}])
    page = run_all.render(run_all.BENCHMARKS, {"vocab_learning": 90.0}, quick=False)
    assert "Test CPU, 2 cores" in page and "keras-hub 0.32" in page
    assert "| vs keras-hub | ≥ 1.15× | 1.02× | **no** |" in page
    assert "| vocabulary | ≥ 50× | 73× | yes |" in page
    assert page.index("## BERT pretraining step") < page.index("## Vocabulary learning")  # the runner's order
    assert "*Benchmark wall time: 1.5 min.*" in page
    assert "smoke mode" not in page
    assert "smoke mode" in run_all.render(run_all.BENCHMARKS, {}, quick=True)


def test_unknown_benchmark_names_are_refused(run_all, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["run_all.py", "--only", "bert_pretraining,nonsense", "--render-only"])
    with pytest.raises(SystemExit):
        run_all.main()
    assert "unknown benchmark(s) nonsense" in capsys.readouterr().err
