"""run.json: one typed record, read and written in one place."""

import json

import pytest

from kerapre.errors import DataError
from kerapre.run_record import RunRecord, read_run_record, write_run_record


def test_a_record_round_trips_through_its_type(tmp_path):
    record = RunRecord(task="finetune_text", config={"train": {"seed": 3}}, label_names=["rotten", "fresh"],
                       sequence_length=64, lowercase=False, vocabulary_size=400, vocabulary_hash="abc", pair=True)
    write_run_record(str(tmp_path), record)
    assert read_run_record(str(tmp_path)) == record
    assert json.loads((tmp_path / "run.json").read_text())["sequence_length"] == 64
    assert not list(tmp_path.glob("*.tmp"))


def test_records_of_kerapre_0_1_read_under_todays_spellings(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({
        "kerapre_version": "0.1.0", "task": "finetune_text", "config": {}, "seq_length": 32, "vocab_size": 400,
        "vocab_hash": "abc", "lowercase": True, "pair": False}))
    record = read_run_record(str(tmp_path))
    assert (record.sequence_length, record.vocabulary_size, record.vocabulary_hash) == (32, 400, "abc")


@pytest.mark.parametrize("content, message", [
    ({"task": "cnn_pretrain", "config": {}, "label_name": []}, r"unknown key 'label_name' \(did you mean 'label_names'"),
    ({"task": "cnn_pretrain"}, "has no 'config'"),
    ({"task": "tokenise", "config": {}}, "unknown task 'tokenise'"),
    ([1, 2], "is not a JSON object"),
])
def test_a_record_with_unknown_or_missing_keys_is_refused(tmp_path, content, message):
    (tmp_path / "run.json").write_text(json.dumps(content))
    with pytest.raises(DataError, match=message):
        read_run_record(str(tmp_path))


def test_a_directory_without_a_record_or_with_broken_json_says_so(tmp_path):
    with pytest.raises(DataError, match="is not a kerapre run \\(no run.json\\)"):
        read_run_record(str(tmp_path))
    (tmp_path / "run.json").write_text("{")
    with pytest.raises(DataError, match="is not valid JSON"):
        read_run_record(str(tmp_path))
