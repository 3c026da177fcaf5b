"""Tests of WordPiece vocabularies: learning, loading, checking and the keras-hub tokenizer."""

import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from kerapre.data import iter_documents
from kerapre.data.vocab import (
    SPECIAL_TOKENS,
    load_vocabulary,
    make_tokenizer,
    vocabulary_hash,
    write_vocabulary,
)
from kerapre.data.vocab_learning import (
    learn_vocabulary,
    learn_vocabulary_keras_hub,
    make_hf_tokenizer,
)
from kerapre.errors import DataError

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A quicker brown dog jumped over the lazier foxes!",
    "Foxes and dogs are animals; both are mammals.",
    "Café owners serve naïve tourists crème brûlée in Zürich.",
    "Jumping, running and barking: dogs do it all (mostly).",
    "In 1990, 3.5 million people lived there.",
] * 20


@pytest.fixture(scope="module")
def wiki_vocab(tmp_path_factory):
    """A vocabulary learned on wiki_sample's train split, and that set's data dir."""
    data_dir = str(tmp_path_factory.mktemp("wiki_sample"))
    path = learn_vocabulary(
        "wiki_sample",
        8192,
        output_path=str(tmp_path_factory.mktemp("vocab")),
        data_dir=data_dir,
        show_progress=False,
    )
    return path, data_dir


def test_learned_vocabulary_has_special_tokens_first(tmp_path):
    path = learn_vocabulary(SENTENCES, 120, output_path=tmp_path / "out", show_progress=False)
    assert path == str(tmp_path / "out" / "vocab.txt")
    vocab = load_vocabulary(path)
    assert tuple(vocab[:5]) == SPECIAL_TOKENS == ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    assert len(vocab) <= 120
    assert len(set(vocab)) == len(vocab)
    assert any(token.startswith("##") for token in vocab)
    # Uncased, without accents.
    assert "the" in vocab and "The" not in vocab
    assert not any(unicodedata.combining(c) or c in "éèüï" for t in vocab for c in t)
    assert load_vocabulary(tmp_path / "out") == vocab
    assert vocabulary_hash(vocab) == vocabulary_hash(path)
    assert vocabulary_hash(vocab) != vocabulary_hash(vocab[:-1])
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name != "vocab.txt"]


def test_learn_vocabulary_reads_corpora_and_documents(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join("\n".join(SENTENCES[i : i + 3]) for i in range(0, 30, 3)))
    from_file = learn_vocabulary(str(corpus), 100, show_progress=False)
    from_paths = learn_vocabulary([corpus], 100, show_progress=False)
    from_documents = learn_vocabulary(iter_documents(corpus), 100, show_progress=False)
    assert from_file == from_paths == from_documents
    assert len(from_file) <= 100
    explicit = learn_vocabulary(SENTENCES, 100, output_path=tmp_path / "v.txt", show_progress=False)
    assert explicit == str(tmp_path / "v.txt")


def test_learned_vocabulary_is_reproducible():
    # The tokenizers trainer alone breaks ties in hash-map order (tokenizers#1794).
    documents = [SENTENCES[i : i + 2] for i in range(0, 40, 2)]
    first = learn_vocabulary(documents, 90, show_progress=False)
    for _ in range(3):
        assert learn_vocabulary(iter(documents), 90, show_progress=False) == first


def test_learn_vocabulary_refuses_no_text():
    with pytest.raises(DataError, match="no text"):
        learn_vocabulary(iter([]), 100, show_progress=False)


def test_keras_hub_learner_uses_the_same_special_tokens():
    vocab = learn_vocabulary_keras_hub(SENTENCES, 80)
    assert tuple(vocab[:5]) == SPECIAL_TOKENS
    assert len(vocab) <= 80
    assert "##e" in vocab and "T" not in vocab


def test_tokenizer_agrees_with_tokenizers_on_sample_sentences(tmp_path):
    vocab = learn_vocabulary(SENTENCES, 150, show_progress=False)
    samples = [
        "The QUICK brown foxes jumped!",
        "Naïve café owners in Zürich, (mostly) barking.",
        "Unseen words like xylophone get pieces or [UNK].",
        "Numbers: 3.5 million, 1990; done.",
    ]
    tokenizer = make_tokenizer(vocab)
    reference = make_hf_tokenizer(vocab)
    ours = tokenizer(samples)
    ours = ours.to_list() if hasattr(ours, "to_list") else [list(ids) for ids in ours]
    theirs = [e.ids for e in reference.encode_batch(samples, add_special_tokens=False)]
    assert [list(map(int, ids)) for ids in ours] == theirs
    assert tokenizer.cls_token_id == 2 and tokenizer.pad_token_id == 0


def test_tokenizer_agrees_with_tokenizers_on_held_out_wikipedia(wiki_vocab):
    path, data_dir = wiki_vocab
    vocab = load_vocabulary(path)
    assert len(vocab) == 8192 and tuple(vocab[:5]) == SPECIAL_TOKENS
    sentences = [s for d in iter_documents("wiki_sample", "test", data_dir=data_dir) for s in d]
    tokenize = tf.function(
        make_tokenizer(path).tokenize, input_signature=[tf.TensorSpec([None], tf.string)]
    )
    ours = tokenize(tf.constant(sentences)).to_list()
    encodings = make_hf_tokenizer(vocab).encode_batch(sentences, add_special_tokens=False)
    theirs = [encoding.ids for encoding in encodings]
    differ = [s for s, a, b in zip(sentences, ours, theirs) if a != b]
    # The known differences: keras-hub case-folds with NFKC (final sigma "ς" -> "σ",
    # "²" -> "2", "½" -> "1⁄2"); plain ASCII sentences always agree.
    assert len(differ) <= 0.005 * len(sentences)
    assert all(not s.isascii() for s in differ)


def test_dense_tokenizer_pads_with_pad_id():
    vocab = learn_vocabulary(SENTENCES, 100, show_progress=False)
    ids = np.asarray(make_tokenizer(vocab, sequence_length=16)(["The dog."]))
    assert ids.shape == (1, 16) and (ids[0, 3:] == 0).all()


@pytest.mark.parametrize(
    "lines, message",
    [
        (["[PAD]", "[UNK]", "[CLS]", "a"], r"lacks the special tokens \[SEP\] \[MASK\]"),
        (list(SPECIAL_TOKENS) + ["a", "b", "a"], r"has the token 'a' twice \(lines 6 and 8\)"),
        (list(SPECIAL_TOKENS) + ["a", "", "b"], "empty or blank-padded token at line 7"),
    ],
)
def test_bad_vocabulary_files_are_refused(tmp_path, lines, message):
    path = tmp_path / "vocab.txt"
    write_vocabulary(lines, path)
    with pytest.raises(DataError, match=message) as error:
        load_vocabulary(path)
    assert "\n" not in str(error.value)
    with pytest.raises(DataError, match=message):
        make_tokenizer(lines)


def test_missing_or_binary_vocabulary_is_refused(tmp_path):
    with pytest.raises(DataError, match="not found: learn one with learn_vocabulary"):
        load_vocabulary(tmp_path / "absent.txt")
    (tmp_path / "vocab.txt").write_bytes(b"[PAD]\n\xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_vocabulary(tmp_path)
