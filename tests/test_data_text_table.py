"""CSV, TSV and JSON Lines tables as text classification sets, through the data layer and the CLI."""

import csv
import json
import os
import shutil

import numpy as np
import pytest

from kerapre import cli
from kerapre.data.text_classification import load_text_classification, text_dataset_info
from kerapre.data.text_table import TableOptions, class_names, prepare_text_table
from kerapre.errors import DataError

NAMES = ("rotten", "fresh")
SPLITS = ("train", "validation", "test")


@pytest.fixture(scope="module")
def reviews():
    """Rotten Tomatoes' three splits as ``{split: [(text, label id)]}``, in the built-in order."""
    return {split: [(t.decode("utf-8"), int(y)) for t, y in
                    load_text_classification("rotten_tomatoes", split).as_numpy_iterator()] for split in SPLITS}


@pytest.fixture(scope="module")
def tables(reviews, tmp_path_factory):
    """The same sentences as a CSV directory (other column names, integer labels), a TSV directory
    (no header) and one JSON Lines file (string labels)."""
    root = tmp_path_factory.mktemp("tables")
    for split, rows in reviews.items():
        os.makedirs(root / "csv", exist_ok=True)
        with open(root / "csv" / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "sentence", "sentiment"])
            writer.writerows((i, text, label) for i, (text, label) in enumerate(rows))
        os.makedirs(root / "tsv", exist_ok=True)
        with open(root / "tsv" / f"{split}.tsv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f, delimiter="\t").writerows((label, text) for text, label in rows)
    with open(root / "all.jsonl", "w", encoding="utf-8") as f:
        for split in SPLITS:
            for text, label in reviews[split]:
                f.write(json.dumps({"review": text, "verdict": NAMES[label]}) + "\n")
    return root


def _rows(name, split, table, data_dir=None):
    return [(t.decode("utf-8"), int(y)) for t, y in
            load_text_classification(name, split, data_dir=data_dir, table=table).as_numpy_iterator()]


CSV = TableOptions(text_column="sentence", label_column="sentiment")
TSV = TableOptions(text_column=1, label_column=0, header=False)
JSONL = TableOptions(text_column="review", label_column="verdict")


@pytest.mark.parametrize("kind, options", [("csv", CSV), ("tsv", TSV)])
def test_split_tables_equal_the_builtin_set_exactly_and_in_order(reviews, tables, kind, options):
    info = text_dataset_info(str(tables / kind), table=options)
    builtin = text_dataset_info("rotten_tomatoes")
    assert info.label_names == ("0", "1") and info.split_sizes == builtin.split_sizes
    assert info.label_counts == builtin.label_counts and not info.pair
    for split in SPLITS:
        assert _rows(str(tables / kind), split, options) == reviews[split]


def test_one_json_lines_file_is_split_by_class_with_string_labels(reviews, tables):
    info = text_dataset_info(str(tables / "all.jsonl"), table=JSONL)
    assert info.label_names == ("fresh", "rotten")  # sorted
    total = sum(len(rows) for rows in reviews.values())
    assert sum(info.split_sizes.values()) == total
    assert info.split_sizes["validation"] == pytest.approx(0.1 * total, abs=10)  # repeated sentences stay together
    for split in SPLITS:  # each split keeps the class balance
        counts = info.label_counts[split]
        assert counts[0] / sum(counts) == pytest.approx(0.578, abs=0.01)
    texts = {split: {t for t, _ in _rows(str(tables / "all.jsonl"), split, JSONL)} for split in SPLITS}
    assert not (texts["train"] & texts["test"]) and not (texts["train"] & texts["validation"])
    truth = {text: NAMES[label] for rows in reviews.values() for text, label in rows}
    assert all(info.label_names[label] == truth[text] for text, label in _rows(str(tables / "all.jsonl"), "test",
                                                                               JSONL))
    # The same file split again (another process, another machine) gives the same splits.
    again = TableOptions(text_column="review", label_column="verdict", key_prefix="")
    assert _rows(str(tables / "all.jsonl"), "test", again) == _rows(str(tables / "all.jsonl"), "test", JSONL)


def test_quotes_newlines_bom_pairs_and_integer_labels(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(
        "\ufefffirst,second,label\n"
        '"A, quoted ""one""","line one\nline two",10\n'
        "plain,other,9\n"
        "third,fourth,10\n"
        "\n",
        encoding="utf-8",
    )
    options = TableOptions(text_column="first", second_column="second", validation_fraction=0, test_fraction=0)
    info = text_dataset_info(str(path), table=options)
    assert info.pair and info.label_names == ("9", "10")  # numeric order
    rows = list(load_text_classification(str(path), "train", table=options).as_numpy_iterator())
    (first, second), label = rows[0]
    assert first.decode() == 'A, quoted "one"' and second.decode() == "line one\nline two" and label == 1
    assert [int(y) for _, y in rows] == [1, 0, 1]
    assert class_names(["b", "a", "b"]) == ("a", "b")


def _no_cache_left(data_dir):
    user = os.path.join(data_dir, "user")
    return not os.path.isdir(user) or not [e for e in os.listdir(user) if not e.startswith(".")]


@pytest.mark.parametrize("name, content, options, message", [
    ("a.csv", "review,label\ngood,1\nbad,0\n", TableOptions(), r"a\.csv has no column 'text' \(columns: review, label\): "
                                                              r"set data\.text_column"),
    ("a.csv", "text,label\ngood,1\nfine,1\n", TableOptions(), r"label column 'label' has one class \('1'\)"),
    ("a.csv", "", TableOptions(), r"a\.csv has no rows"),
    ("a.csv", "text,label\n", TableOptions(), r"a\.csv has no rows"),
    ("a.csv", "text,label\ngood,1\n ,0\n", TableOptions(), r"a\.csv line 3 has no text in column 'text'"),
    ("a.csv", "text,label\ngood,1\nbad,\n", TableOptions(), r"a\.csv line 3 has no label in column 'label'"),
    ("a.jsonl", '{"text": "good", "label": 1}\n{"text": "bad", "label": 0\n', TableOptions(),
     r"a\.jsonl line 2 is not JSON"),
    ("a.jsonl", '{"text": "good", "label": 1}\n{"body": "bad", "label": 0}\n', TableOptions(),
     r"a\.jsonl line 2 has no field 'text' \(fields: body, label\): set data\.text_column"),
    ("a.csv", b"text,label\ncaf\xe9,1\n", TableOptions(), r"a\.csv is not UTF-8"),
    ("missing.csv", None, TableOptions(), r"no such file: .*missing\.csv"),
])
def test_bad_tables_fail_in_one_line_and_leave_nothing_in_the_cache(tmp_path, name, content, options, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    data_dir = str(tmp_path / "cache")
    with pytest.raises(DataError, match=message) as error:
        text_dataset_info(str(path), data_dir=data_dir, table=options)
    assert "\n" not in str(error.value)
    assert _no_cache_left(data_dir)


def test_a_test_label_unseen_in_train_is_refused(tmp_path):
    (tmp_path / "split").mkdir()
    (tmp_path / "split" / "train.csv").write_text("text,label\ngood,pos\nbad,neg\n")
    (tmp_path / "split" / "test.csv").write_text("text,label\nmeh,neutral\n")
    with pytest.raises(DataError, match=r"test\.csv has labels the training rows lack \('neutral'\)"):
        text_dataset_info(str(tmp_path / "split"), data_dir=str(tmp_path / "cache"))
    assert _no_cache_left(str(tmp_path / "cache"))


def test_an_edited_table_is_prepared_again_and_the_stale_copy_removed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label\n" + "".join(f"text {i},{i % 2}\n" for i in range(20)))
    options = TableOptions(validation_fraction=0, test_fraction=0)
    data_dir = str(tmp_path / "cache")
    logs = []
    prepare_text_table(str(path), options, data_dir, log=logs.append)
    prepare_text_table(str(path), options, data_dir, log=logs.append)
    assert len(logs) == 1  # read from the cache the second time
    with open(path, "a") as f:
        f.write("one more,1\n")
    prepare_text_table(str(path), options, data_dir, log=logs.append)
    assert len(logs) == 2
    assert text_dataset_info(str(path), data_dir=data_dir, table=options).split_sizes == {"train": 21}
    (entry,) = [e for e in os.listdir(os.path.join(data_dir, "user")) if not e.startswith(".")]
    assert len(os.listdir(os.path.join(data_dir, "user", entry))) == 1


def _test_accuracy(run_dir):
    with open(os.path.join(run_dir, "run.json")) as f:
        return json.load(f)["test_accuracy"]


def test_finetune_evaluate_and_report_text_take_a_table(reviews, tables, pretrain_run, in_tmp, capsys):
    # The published encoder, frozen, with a new head: the same seed on the table and on the
    # built-in set gives the same accuracy, well above the majority class.
    common = ["finetune", "text", "--backbone", "minilm_l6", "--set", "trainable=false", "--set", "data.limit=600",
              "--set", "data.seq_length=32", "--set", "data.validation_split=null", "--set", "train.epochs=4",
              "--set", "train.verbose=0", "--set", "train.learning_rate=0.01", "--set", "head.pooling=mean"]
    assert cli.main([*common, "--model-dir", "builtin"]) == 0
    assert cli.main([*common, "--set", f"data.name={tables / 'csv'}", "--set", "data.text_column=sentence",
                     "--set", "data.label_column=sentiment", "--model-dir", "table"]) == 0
    accuracy = _test_accuracy("table")
    assert accuracy == pytest.approx(_test_accuracy("builtin"), abs=1e-6)
    test_labels = [label for _, label in reviews["test"][:600]]
    assert accuracy > max(np.bincount(test_labels)) / len(test_labels) + 0.05
    capsys.readouterr()
    # evaluate: a text run on its own table (its keys come from the run), then on the JSON Lines
    # file, whose string labels are matched to the model's by name.
    assert cli.main(["evaluate", "--model", "table", "--split", "test[:300]"]) == 0
    assert "[test[:300]]: accuracy" in capsys.readouterr().out
    # The same folder spelled another way is still the run's data: its columns come from the run.
    assert cli.main(["evaluate", "--model", "table", "--data", f"{tables / 'csv'}/", "--split", "test[:300]"]) == 0
    assert "[test[:300]]: accuracy" in capsys.readouterr().out
    # A bare .keras file (no kerapre.json beside it) is still recognised as a text classifier.
    os.makedirs("bare")
    shutil.copy("table/model.keras", "bare/model.keras")
    assert cli.main(["predict", "--model", "bare/model.keras", "A gripping, moving film."]) == 0
    assert capsys.readouterr().out.strip().endswith("A gripping, moving film.")
    assert cli.main(["evaluate", "--model", "table", "--data", str(tables / "all.jsonl"), "--set", "text_column=review",
                     "--set", "label_column=verdict"]) == 2
    assert "has classes the model lacks (fresh, rotten" in capsys.readouterr().err.strip().splitlines()[-1]
    assert cli.main(["report", "text", "--backbone", f"tiny={pretrain_run}", "--output", "report",
                     "--set", f"target={tables / 'csv'}", "--set", "text_column=sentence",
                     "--set", "label_column=sentiment", "--set", "methods=[linear_probe]",
                     "--set", "labels_per_class=[5]", "--set", "seeds=[0]", "--set", "limit=300",
                     "--set", "seq_length=32", "--set", "train.probe_c=[1.0]"]) == 0
    with open("report/label_efficiency.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["backbone"] == "tiny" and 0 <= float(row["test_accuracy"]) <= 1


def test_the_published_encoder_on_a_json_lines_file_beats_the_majority_class(tables, in_tmp):
    """A user's own table end to end: ``report text`` with minilm_l6 frozen and a linear probe
    on 200 labels per class of the JSON Lines file beats the majority class clearly."""
    assert cli.main(["report", "text", "--backbone", "minilm=minilm_l6", "--output", "report",
                     "--set", f"target={tables / 'all.jsonl'}", "--set", "text_column=review",
                     "--set", "label_column=verdict", "--set", "methods=[linear_probe]", "--set", "pooling=mean",
                     "--set", "labels_per_class=[200]", "--set", "seeds=[0]", "--set", "limit=800",
                     "--set", "seq_length=48", "--set", "train.probe_c=[0.01, 0.1]"]) == 0
    with open("report/label_efficiency.csv") as f:
        (row,) = list(csv.DictReader(f))
    test = _rows(str(tables / "all.jsonl"), "test", JSONL)[:800]
    majority = max(np.bincount([y for _, y in test])) / len(test)
    assert float(row["test_accuracy"]) > majority + 0.08


def test_columns_must_differ_and_small_tables_name_the_fraction_keys(tmp_path):
    with pytest.raises(DataError, match=r"must name different columns"):
        TableOptions(text_column="label")
    with pytest.raises(DataError, match=r"must name different columns"):
        TableOptions(second_column="text")
    path = tmp_path / "six.csv"
    path.write_text("text,label\n" + "".join(f"row {i},{i % 2}\n" for i in range(6)))
    with pytest.raises(DataError, match=r"six\.csv: a validation split of 0\.1 of each class is empty"):
        text_dataset_info(str(path), data_dir=str(tmp_path / "cache"))
    assert _no_cache_left(str(tmp_path / "cache"))
    report_keys = TableOptions(validation_fraction=0, test_fraction=0.1, key_prefix="")
    with pytest.raises(DataError, match=r"a test split of 0\.1 of each class is empty .* set test_fraction to 0"):
        text_dataset_info(str(path), data_dir=str(tmp_path / "cache"), table=report_keys)


def test_two_ways_of_reading_one_table_keep_their_own_cache_entries(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label\n" + "".join(f"text {i},{i % 2}\n" for i in range(40)))
    data_dir = str(tmp_path / "cache")
    whole = TableOptions(validation_fraction=0, test_fraction=0)
    logs = []
    for options in (whole, TableOptions(), whole, TableOptions()):
        prepare_text_table(str(path), options, data_dir, log=logs.append)
    assert len(logs) == 2  # each way prepared once, neither replaced the other
    assert text_dataset_info(str(path), data_dir=data_dir, table=whole).split_sizes == {"train": 40}


def test_header_names_are_stripped(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text("text , label\n" + "".join(f"t {i},{i % 2}\n" for i in range(4)))
    info = text_dataset_info(str(path), data_dir=str(tmp_path / "cache"),
                             table=TableOptions(validation_fraction=0, test_fraction=0))
    assert info.split_sizes == {"train": 4}
