"""Tests of the text corpora: the wiki_sample builder, split_sentences and iter_documents."""

import importlib.metadata
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kerapre.data import WikiSample, iter_documents, scan_corpus, split_sentences
from kerapre.data.builders import wiki_sample
from kerapre.errors import DataError

# The held-out articles: fixed by SPLIT_SEED, the same on every machine.
WIKI_TEST_TITLES = {
    "A Modest Proposal",
    "Affirming the consequent",
    "Afghanistan",
    "Agnostida",
    "Algeria",
    "Algorithm",
    "Allah",
    "Anarchism",
    "Animal Farm",
    "Demographics of Angola",
}


@pytest.fixture(autouse=True)
def _no_home_cache(tmp_path, monkeypatch):
    # A test that forgets data_dir must not write to the user's ~/.cache.
    monkeypatch.setenv("KERAPRE_DATA_DIR", str(tmp_path / "default_data_dir"))


@pytest.fixture(scope="module")
def wiki_dir(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("wiki_sample"))
    builder = WikiSample(data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            compute_stats=tfds.download.ComputeStatsMode.SKIP
        )
    )
    return data_dir


@pytest.fixture(scope="module")
def wiki_examples(wiki_dir):
    builder = tfds.builder("wiki_sample", data_dir=wiki_dir)
    return {
        split: [
            {key: value.decode("utf-8") for key, value in example.items()}
            for example in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))
        ]
        for split in ("train", "test")
    }


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


# --- split_sentences ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "Dr. Smith moved to the U.S. in 1990. He earned $3.5 million.",
            ["Dr. Smith moved to the U.S. in 1990.", "He earned $3.5 million."],
        ),
        ("He lived in the U.S. The war began.", ["He lived in the U.S.", "The war began."]),
        (
            "Fruits, e.g. apples, are red. Others, i.e. bananas, are not!",
            ["Fruits, e.g. apples, are red.", "Others, i.e. bananas, are not!"],
        ),
        (
            "J. R. R. Tolkien wrote it. George W. Bush read it.",
            ["J. R. R. Tolkien wrote it.", "George W. Bush read it."],
        ),
        (
            "It cost 3.14 dollars. Then 4.5. Nobody knew why.",
            ["It cost 3.14 dollars.", "Then 4.5.", "Nobody knew why."],
        ),
        (
            'He said "Stop." Then he left. (This was odd.) It rained.',
            ['He said "Stop."', "Then he left.", "(This was odd.)", "It rained."],
        ),
        ("Is it? Yes! It is... The end.", ["Is it?", "Yes!", "It is...", "The end."]),
        (
            "See Vol. 3, No. 5, pp. 12-15 of St. Louis Inc. and Prof. Lee etc. and more.",
            ["See Vol. 3, No. 5, pp. 12-15 of St. Louis Inc. and Prof. Lee etc. and more."],
        ),
        ("He was born c. 1830 in Paris. World War I. The end.",
         ["He was born c. 1830 in Paris.", "World War I.", "The end."]),
        ("Élan vital, by Bergson.  Über alles.", ["Élan vital, by Bergson.", "Über alles."]),
        ("a line\nbroken  in two. Next one", ["a line broken in two.", "Next one"]),
        ("   ", []),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


# --- the wiki_sample builder -----------------------------------------------------------


def test_wiki_sample_splits_by_article(wiki_examples):
    train = [example["title"] for example in wiki_examples["train"]]
    test = [example["title"] for example in wiki_examples["test"]]
    # 206 pages: 100 redirects, and 2 pages that are only lists (Ada, List of
    # anthropologists) leave no prose.
    assert (len(train), len(test)) == (94, 10)
    assert set(test) == WIKI_TEST_TITLES
    assert not set(train) & set(test)
    assert len(set(train)) == len(train)
    assert "AccessibleComputing" not in train + test  # a #REDIRECT page


def test_wiki_sample_text_is_one_sentence_per_line(wiki_examples):
    sentences = {split: 0 for split in wiki_examples}
    for split, examples in wiki_examples.items():
        for example in examples:
            text = example["text"]
            assert text == text.strip() and "\n\n\n" not in text
            lines = text.split("\n")
            sentences[split] += sum(1 for line in lines if line)
            for line in lines:
                assert line == line.strip()
                assert not line.startswith(("=", "*", "|", "#", "{"))
                assert not any(mark in line for mark in ("[[", "{{", "]]", "thumb|", "'''"))
    assert 15_000 < sentences["train"] < 19_000
    assert 1_800 < sentences["test"] < 2_500
    anarchism = next(e for e in wiki_examples["test"] if e["title"] == "Anarchism")
    assert anarchism["text"].startswith(
        "Anarchism is a political philosophy that advocates self-governed societies"
    )
    # The article stops before its reference sections ("Infoshop.org" is an external link).
    assert "Infoshop" not in anarchism["text"]


def test_wiki_sample_split_is_deterministic():
    ids = [str(i) for i in range(10, 300, 3)]
    first = wiki_sample.split_by_article(ids)
    assert first == wiki_sample.split_by_article(list(reversed(ids)))
    assert len(first[1]) == round(len(ids) * 0.1)
    assert first[0] | first[1] == set(ids)


def test_clean_article_strips_markup():
    markup = (
        "{{Infobox|x=1}}\n'''Ada''' is a language.  It was named after [[Ada Lovelace|Ada]].\n"
        "[[File:Ada.png|thumb|A [[photo]] of Ada]]\n"
        "== History ==\n"
        "* It was made in 1980.\n"
        "{|\n| a cell || another cell.\n|}\n"
        "A heading without a period\n"
        "Costs are &lt; 5 dollars. They rose.\n"
        "== See also ==\n"
        "* Other languages.\n"
    )
    assert wiki_sample.clean_article(markup) == [
        ["Ada is a language.", "It was named after Ada."],
        ["It was made in 1980."],
        ["Costs are < 5 dollars.", "They rose."],
    ]


def test_wiki_sample_without_gensim_names_the_install(tmp_path, monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DataError) as error:
        iter_documents("wiki_sample", data_dir=str(tmp_path))
    assert str(error.value) == "wiki_sample needs gensim: pip install gensim==4.4.0"
    assert not (tmp_path / "wiki_sample").exists()


def test_iter_documents_reads_wiki_sample(wiki_dir, wiki_examples):
    documents = iter_documents("wiki_sample", "test", data_dir=wiki_dir)
    read = list(documents)
    expected = [e["text"].replace("\n\n", "\n").split("\n") for e in wiki_examples["test"]]
    assert read == expected
    assert documents.stats.documents == 10
    assert documents.stats.sentences == sum(len(d) for d in expected)


# --- text files ------------------------------------------------------------------------

BERT_FORMAT = "First one.\nSecond one.\n\nOnly sentence.\n\n\nThird doc a.\nThird doc b.\nc.\n"


def test_iter_documents_reads_bert_format_file(tmp_path):
    path = _write(tmp_path / "corpus.txt", BERT_FORMAT)
    documents = iter_documents(str(path))
    assert list(documents) == [
        ["First one.", "Second one."],
        ["Third doc a.", "Third doc b.", "c."],
    ]
    stats = documents.stats
    assert (stats.documents, stats.sentences, stats.skipped_documents) == (2, 5, 1)
    assert scan_corpus(path) == stats


def test_iter_documents_reads_glob_directory_and_list(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    _write(folder / "b.txt", "B one.\nB two.\n")
    _write(folder / "a.txt", "\ufeffA one.\r\nA\u00a0two.\r\n\r\nA2 one.\nA2 two.")
    _write(folder / ".hidden", "Hidden one.\nHidden two.\n")
    expected = [["A one.", "A two."], ["A2 one.", "A2 two."], ["B one.", "B two."]]
    assert list(iter_documents(str(folder))) == expected
    assert list(iter_documents(str(folder / "*.txt"))) == expected
    assert list(iter_documents([folder / "b.txt", str(folder / "a.txt")])) == (
        expected[2:] + expected[:2]
    )


def test_iter_documents_streams(tmp_path):
    path = _write(tmp_path / "corpus.txt", "One.\nTwo.\n\n" * 3 + "\xff\n")
    documents = iter_documents(path)
    assert next(documents) == ["One.", "Two."]  # Read before the bad byte is reached.


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("\n\n  \n", "is empty"),
        ("One.\n\nTwo.\n", r"no document of 2 or more sentences \(2 shorter ones skipped\)"),
    ],
)
def test_empty_corpus_is_refused(tmp_path, text, message):
    path = _write(tmp_path / "corpus.txt", text)
    with pytest.raises(DataError, match=message) as error:
        list(iter_documents(path))
    assert "\n" not in str(error.value)


def test_non_utf8_file_is_refused_with_its_position(tmp_path):
    text = "First line.\nSecond line.\n\nCafé au lait.\n"
    path = _write(tmp_path / "latin1.txt", text, "latin-1")
    with pytest.raises(DataError) as error:
        list(iter_documents(path))
    assert str(path) in str(error.value)
    assert "line 4, byte 29" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "corpus, message",
    [
        ("missing/corpus.txt", "neither a file, a directory, a glob nor a TFDS data set"),
        ("no_such_tfds_set", "neither a file, a directory, a glob nor a TFDS data set"),
        ("nothing/*.txt", "no file matches the corpus pattern"),
    ],
)
def test_unknown_corpus_is_refused(tmp_path, monkeypatch, corpus, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=message):
        iter_documents(corpus)


def test_empty_directory_is_refused(tmp_path):
    with pytest.raises(DataError, match="has no files"):
        iter_documents(tmp_path)


# --- any TFDS text set ----------------------------------------------------------------


def _reviews(self, *args, **kwargs):
    texts = [
        "A fine film. It was long.\nThe end was good. I liked it!",
        "Too short.",
        "Dr. Who is fun. Watch it.",
    ]
    return tf.data.Dataset.from_tensor_slices(
        {"text": texts, "label": np.zeros(len(texts), np.int64)}
    )


def test_iter_documents_reads_a_tfds_text_set(tmp_path):
    with tfds.testing.mock_data(as_dataset_fn=_reviews):
        documents = iter_documents("imdb_reviews", "train", data_dir=str(tmp_path))
        read = list(documents)
    assert read == [
        ["A fine film.", "It was long.", "The end was good.", "I liked it!"],
        ["Dr. Who is fun.", "Watch it."],
    ]
    assert documents.stats.skipped_documents == 1


def test_tfds_random_mock_text_has_no_sentences(tmp_path):
    # Random mock text has no sentence ends: one sentence per example, all skipped.
    with tfds.testing.mock_data(num_examples=4):
        documents = iter_documents("imdb_reviews", "test", data_dir=str(tmp_path))
        with pytest.raises(DataError, match=r"4 shorter ones skipped"):
            list(documents)


def test_tfds_set_without_the_text_feature_is_refused(tmp_path):
    with tfds.testing.mock_data(num_examples=2):
        with pytest.raises(DataError, match=r"has no feature 'sentence'.*'label', 'text'"):
            iter_documents("imdb_reviews", text_key="sentence", data_dir=str(tmp_path))


# === your own corpora: JSON Lines, compressed files, and the fingerprint ===

DOCS = [["The first document starts here.", "It goes on."], ["A second one.", "It ends.", "Really."]]


def _write_corpus(path, text):
    import bz2
    import gzip

    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(os.path.splitext(str(path))[1], open)
    with opener(path, "wt", encoding="utf-8") as f:
        f.write(text)
    return str(path)


@pytest.mark.parametrize("name", ["corpus.txt.gz", "corpus.txt.bz2", "corpus.jsonl", "corpus.jsonl.gz"])
def test_json_lines_and_compressed_corpora_read_like_text_files(tmp_path, name):
    if ".jsonl" in name:
        text = "".join(json.dumps({"id": i, "body": " ".join(doc)}) + "\n\n" * (i == 0) for i, doc in enumerate(DOCS))
    else:
        text = "\n\n".join("\n".join(doc) for doc in DOCS) + "\n"
    path = _write_corpus(tmp_path / name, text)
    documents = iter_documents(path, text_key="body")
    assert list(documents) == DOCS
    assert documents.stats.documents == 2 and documents.stats.sentences == 5


@pytest.mark.parametrize("text, message", [
    ('{"text": "One. Two."}\n{"text": "broken"\n', r"c\.jsonl line 2 is not JSON"),
    ('{"text": "One. Two."}\n{"body": "x"}\n', r"c\.jsonl line 2 has no field 'text' \(fields: body\): set data\.text_key"),
    ('["not", "an", "object"]\n', r"c\.jsonl line 1 has no field 'text' \(fields: none: not an object\)"),
])
def test_bad_json_lines_name_the_file_and_line(tmp_path, text, message):
    path = _write_corpus(tmp_path / "c.jsonl", text)
    with pytest.raises(DataError, match=message):
        scan_corpus(path)


def test_a_damaged_gzip_file_is_named(tmp_path):
    path = tmp_path / "c.txt.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip data")
    with pytest.raises(DataError, match=r"c\.txt\.gz cannot be decompressed"):
        scan_corpus(str(path))


def test_corpus_fingerprint_follows_file_sizes_and_times(tmp_path):
    from kerapre.data.corpus import corpus_fingerprint

    folder = tmp_path / "docs"
    folder.mkdir()
    _write_corpus(folder / "a.txt", "One.\nTwo.\n")
    first = corpus_fingerprint(str(folder))
    assert first == corpus_fingerprint(str(folder)) and len(first) == 64
    assert corpus_fingerprint(str(folder), text_key="body") != first
    os.utime(folder / "a.txt", ns=(1, 1))
    touched = corpus_fingerprint(str(folder))
    assert touched != first
    _write_corpus(folder / "b.txt", "Three.\nFour.\n")
    assert corpus_fingerprint(str(folder)) != touched
    assert corpus_fingerprint("wiki_sample") is None
