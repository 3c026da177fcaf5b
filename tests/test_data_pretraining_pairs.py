"""Tests of BERT next-sentence pairs: layout, labels, determinism and the TFRecord round trip."""

import json

import numpy as np
import pytest
import tensorflow as tf

from kerapre.data.pair_maker import PairMaker
from kerapre.data.pair_records import load_pretraining_records, write_pretraining_records
from kerapre.data.pairs_info import check_vocabulary, load_pairs_info
from kerapre.data.pretraining_pairs import create_pairs, pairs_dataset
from kerapre.data.vocab import SPECIAL_TOKENS, make_tokenizer, write_vocabulary
from kerapre.errors import ConfigError, DataError

PAD, UNK, CLS, SEP, MASK = range(5)
NUM_DOCUMENTS = 40
MAX_SENTENCES = 8
MAX_WORDS = 5


def _numbered_corpus(seed=0):
    """Documents whose every token is unique: word w of sentence s of document d is
    ``d{d}s{s}w{w}``, so a token id tells exactly where in the corpus it comes from."""
    rng = np.random.default_rng(seed)
    documents = []
    for d in range(NUM_DOCUMENTS):
        sentences = []
        for s in range(int(rng.integers(2, MAX_SENTENCES + 1))):
            words = int(rng.integers(1, MAX_WORDS + 1))
            sentences.append(" ".join(f"d{d}s{s}w{w}" for w in range(words)) + " .")
        documents.append(sentences)
    return documents


@pytest.fixture(scope="module")
def corpus():
    documents = _numbered_corpus()
    vocab = list(SPECIAL_TOKENS) + ["."] + [
        f"d{d}s{s}w{w}"
        for d in range(NUM_DOCUMENTS)
        for s in range(MAX_SENTENCES)
        for w in range(MAX_WORDS)
    ]
    # Token id -> (document, position of the token in that document's token stream).
    position = {}
    for d, sentences in enumerate(documents):
        stream = [token for token in " ".join(sentences).split() if token != "."]
        for p, token in enumerate(stream):
            position[vocab.index(token)] = (d, p)
    return documents, vocab, position


@pytest.fixture(scope="module")
def tokenizer(corpus):
    return make_tokenizer(corpus[1])


@pytest.fixture(scope="module")
def vocab_file(corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    write_vocabulary(corpus[1], path)
    return path


@pytest.fixture(scope="module")
def corpus_file(corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n\n".join("\n".join(d) for d in corpus[0]) + "\n")
    return path


def _segments(pair):
    ids = pair["token_ids"]
    length = int(pair["padding_mask"].sum())
    first_sep = int(np.flatnonzero(ids == SEP)[0])
    return ids[1:first_sep], ids[first_sep + 1 : length - 1], first_sep, length


def _positions(tokens, position):
    """(documents, stream positions) of the tokens, skipping the shared "." token."""
    places = [position[t] for t in tokens if t in position]
    return {d for d, _ in places}, [p for _, p in places]


def test_pairs_have_bert_layout(corpus, tokenizer):
    seq_length = 32
    pairs = list(create_pairs(corpus[0], tokenizer, seq_length=seq_length, dupe_factor=2))
    assert len(pairs) > 100
    for pair in pairs:
        assert pair["token_ids"].dtype == np.int32 and pair["token_ids"].shape == (seq_length,)
        assert pair["segment_ids"].dtype == np.int32 and pair["padding_mask"].dtype == bool
        assert pair["next_sentence_label"].dtype == np.int32
        tokens_a, tokens_b, first_sep, length = _segments(pair)
        ids = pair["token_ids"]
        assert length <= seq_length and len(tokens_a) >= 1 and len(tokens_b) >= 1
        assert ids[0] == CLS and ids[length - 1] == SEP
        assert (ids == SEP).sum() == 2 and (ids == CLS).sum() == 1
        assert (ids[length:] == PAD).all() and (ids[:length] != PAD).all()
        assert pair["padding_mask"].tolist() == [True] * length + [False] * (seq_length - length)
        expected_segments = [0] * (first_sep + 1) + [1] * (length - first_sep - 1)
        assert pair["segment_ids"].tolist() == expected_segments + [0] * (seq_length - length)


def test_real_next_segment_follows_a_and_random_one_comes_from_another_document(
    corpus, tokenizer
):
    _, _, position = corpus
    # Long enough for every document: a real B is never truncated, so it must start
    # right where A ends.
    pairs = list(create_pairs(corpus[0], tokenizer, seq_length=64, dupe_factor=3, seed=1))
    assert {int(p["next_sentence_label"]) for p in pairs} == {0, 1}
    for pair in pairs:
        tokens_a, tokens_b, _, _ = _segments(pair)
        docs_a, places_a = _positions(tokens_a, position)
        docs_b, places_b = _positions(tokens_b, position)
        assert len(docs_a) == 1 and len(docs_b) == 1
        if pair["next_sentence_label"] == 0:
            assert docs_a == docs_b
            # A then B is one contiguous run of the document: B is A's continuation.
            run = places_a + places_b
            assert run == list(range(run[0], run[0] + len(run)))
        else:
            assert docs_a != docs_b


def test_next_sentence_labels_are_balanced():
    rng = np.random.default_rng(0)
    words = ["x", "y", "z"]
    documents = [
        [" ".join(rng.choice(words, int(rng.integers(3, 6)))) + " ." for _ in range(30)]
        for _ in range(50)
    ]
    vocab = list(SPECIAL_TOKENS) + words + ["."]
    pairs = list(create_pairs(documents, vocab, seq_length=24, dupe_factor=2))
    labels = np.array([int(p["next_sentence_label"]) for p in pairs])
    assert len(labels) > 800
    # Google's scheme: a coin flip, except that a chunk of one sentence can only be
    # paired with a random B, which tips the balance a little towards label 1.
    assert 0.45 < labels.mean() < 0.65


def test_truncated_pairs_keep_their_order(corpus, tokenizer):
    _, _, position = corpus
    pairs = list(create_pairs(corpus[0], tokenizer, seq_length=12, seed=2))
    for pair in pairs:
        tokens_a, tokens_b, _, length = _segments(pair)
        assert length <= 12
        docs_a, places_a = _positions(tokens_a, position)
        docs_b, places_b = _positions(tokens_b, position)
        # Truncation only removes tokens at the ends of a segment.
        for places in (places_a, places_b):
            assert places == sorted(places) and (not places or places[-1] - places[0] < 12 * 2)
        if pair["next_sentence_label"] == 0:
            assert docs_a == docs_b and places_a[-1] < places_b[0]


@pytest.mark.parametrize("length_a, length_b", [(10, 10), (12, 10), (10, 12), (30, 3), (1, 40)])
def test_truncation_matches_googles_loop(tokenizer, length_a, length_b):
    maker = PairMaker(tokenizer, seq_length=15, short_seq_prob=0.0, seed=0)
    # Google's truncate_seq_pair, counting what it removes from each segment.
    a, b = length_a, length_b
    while a + b > 12:
        if a > b:
            a -= 1
        else:
            b -= 1
    tokens_a, tokens_b = maker._truncate(np.arange(length_a), np.arange(100, 100 + length_b))
    assert (len(tokens_a), len(tokens_b)) == (a, b)
    # What is left is a contiguous slice.
    assert (np.diff(tokens_a) == 1).all() and (np.diff(tokens_b) == 1).all()


def test_pairs_depend_only_on_the_seed(corpus, tokenizer):
    def make(seed):
        return list(create_pairs(corpus[0], tokenizer, seq_length=24, seed=seed))

    first, again, other = make(5), make(5), make(6)
    assert len(first) == len(again)
    for x, y in zip(first, again):
        assert all(np.array_equal(x[key], y[key]) for key in x)
    assert [p["token_ids"].tolist() for p in first] != [p["token_ids"].tolist() for p in other]


def test_short_seq_prob_makes_shorter_pairs(corpus, tokenizer):
    def mean_length(prob):
        pairs = create_pairs(corpus[0], tokenizer, seq_length=48, short_seq_prob=prob)
        return np.mean([p["padding_mask"].sum() for p in pairs])

    assert mean_length(1.0) < mean_length(0.0)


def test_create_pairs_refuses_bad_input(corpus, tokenizer):
    with pytest.raises(DataError, match="at least 2 documents"):
        list(create_pairs([["One sentence.", "Two."]], tokenizer))
    with pytest.raises(ConfigError, match="seq_length must be at least 5"):
        create_pairs(corpus[0], tokenizer, seq_length=4)
    with pytest.raises(ConfigError, match="without sequence_length"):
        create_pairs(corpus[0], make_tokenizer(corpus[1], sequence_length=8))


def test_pairs_dataset_matches_the_generator(corpus, tokenizer):
    ds = pairs_dataset(corpus[0][:10], corpus[1], seq_length=20, seed=3)
    assert ds.element_spec["token_ids"] == tf.TensorSpec([20], tf.int32)
    assert ds.element_spec["next_sentence_label"] == tf.TensorSpec([], tf.int32)
    expected = list(create_pairs(corpus[0][:10], tokenizer, seq_length=20, seed=3))
    for _ in range(2):  # Every pass gives the same pairs.
        got = list(ds.as_numpy_iterator())
        assert len(got) == len(expected)
        for x, y in zip(got, expected):
            assert all(np.array_equal(x[key], y[key]) for key in x)


def test_records_round_trip(corpus, tokenizer, vocab_file, corpus_file, tmp_path):
    output = tmp_path / "pairs"
    info = write_pretraining_records(
        str(corpus_file), vocab_file, output, seq_length=24, num_shards=3, seed=4,
        show_progress=False,
    )
    names = sorted(p.name for p in output.iterdir())
    assert names == [f"pairs-0000{i}-of-00003.tfrecord" for i in range(3)] + ["pairs.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    record = json.loads((output / "pairs.json").read_text())
    assert record["count"] == info.count and record["seq_length"] == 24
    assert record["stats"] == {"documents": 40, "sentences": info.stats["sentences"],
                               "skipped_documents": 0}
    assert 0.3 < record["positive_fraction"] < 0.7
    assert load_pairs_info(output) == info

    expected = list(create_pairs(corpus[0], tokenizer, seq_length=24, seed=4))
    got = list(load_pretraining_records(output, seq_length=24).as_numpy_iterator())
    assert info.count == len(expected) == len(got)
    for x, y in zip(got, expected):
        assert set(x) == set(y)
        assert all(np.array_equal(x[key], y[key]) for key in x)
        assert x["token_ids"].dtype == np.int32 and x["padding_mask"].dtype == bool
    # One worker's share of the shards.
    share = load_pretraining_records([info.paths[0]])
    assert len(list(share)) == len(expected[0::3])


def test_existing_output_dir_and_other_seq_length_are_refused(
    corpus, vocab_file, corpus_file, tmp_path
):
    output = tmp_path / "pairs"
    first = write_pretraining_records(
        corpus_file, vocab_file, output, seq_length=16, num_shards=2, show_progress=False
    )
    with pytest.raises(DataError, match="already exists and is not empty: pass overwrite=True"):
        write_pretraining_records(corpus_file, vocab_file, output, show_progress=False)
    with pytest.raises(DataError, match="have seq_length 16 but 128 was asked"):
        load_pretraining_records(output, seq_length=128)
    second = write_pretraining_records(
        corpus_file, vocab_file, output, seq_length=20, num_shards=1, overwrite=True,
        show_progress=False,
    )
    assert sorted(p.name for p in output.iterdir()) == [
        "pairs-00000-of-00001.tfrecord", "pairs.json"
    ]
    assert second.seq_length == 20 and first.count != second.count
    assert [p.name for p in tmp_path.iterdir()] == ["pairs"]


def test_vocabulary_mismatch_is_refused(corpus, vocab_file, corpus_file, tmp_path):
    output = tmp_path / "pairs"
    write_pretraining_records(corpus_file, vocab_file, output, seq_length=16,
                              show_progress=False)
    check_vocabulary(output, vocab_file)
    check_vocabulary(output, corpus[1])
    with pytest.raises(DataError) as error:
        check_vocabulary(output, corpus[1] + ["extra"])
    assert str(error.value) == (
        "pairs were made with another vocabulary: re-run prepare with this vocab.txt"
    )


def test_missing_records_are_refused(tmp_path):
    with pytest.raises(DataError, match="no pairs.json in"):
        load_pretraining_records(tmp_path)
    with pytest.raises(DataError, match="no pairs shard"):
        load_pretraining_records(str(tmp_path / "*.tfrecord"))
