"""How documents become next-sentence pairs: Google's ``create_instances_from_document``.

``create_pairs`` (``kerapre.data.pretraining_pairs``) drives ``PairMaker``, which
tokenises a chunk of documents in one batched call, cuts each document into A/B pairs
and truncates them as Google's script does, without the masking.

Documents are processed in chunks (``CHUNK_DOCUMENTS``), and a random B comes from
another document of the same chunk, so memory stays bounded on any corpus size.
"""

import numpy as np
import tensorflow as tf

from kerapre.data.vocab import CLS, PAD, SEP
from kerapre.errors import DataError

CHUNK_DOCUMENTS = 100  # peak memory: ~2 chunks of pairs (benchmarks/input_pipeline.py)


class PairMaker:
    """Turns documents into pairs, one chunk of documents at a time."""

    def __init__(self, tokenizer, seq_length, short_seq_prob, seed):
        self.tokenize = _batch_tokenize(tokenizer)
        self.cls_id = tokenizer.token_to_id(CLS)
        self.sep_id = tokenizer.token_to_id(SEP)
        self.pad_id = tokenizer.token_to_id(PAD)
        self.seq_length = seq_length
        self.max_tokens = seq_length - 3
        self.short_seq_prob = short_seq_prob
        self.rng = np.random.default_rng(seed)

    def pairs(self, documents, dupe_factor):
        made = False
        for chunk in _chunks(documents, CHUNK_DOCUMENTS):
            tokenized = self._tokenize_chunk(chunk)
            if len(tokenized) < 2:
                if made:
                    continue  # The tail of a long corpus: too few documents to pair.
                raise DataError(
                    f"only {len(tokenized)} document(s) with 2 or more sentences: "
                    "next-sentence pairs need at least 2 documents, give a larger corpus"
                )
            made = True
            pairs = []
            for _ in range(dupe_factor):
                for index in range(len(tokenized)):
                    pairs.extend(self._document_pairs(tokenized, index))
            # Mixes documents and labels, as Google's script does over the whole corpus.
            for i in self.rng.permutation(len(pairs)):
                yield pairs[i]

    def _tokenize_chunk(self, chunk):
        """Returns each document as a list of int32 arrays, one per non-empty sentence."""
        sentences = [sentence for document in chunk for sentence in document]
        if not sentences:
            return []
        ragged = self.tokenize(tf.constant(sentences))
        values = ragged.flat_values.numpy()
        bounds = ragged.row_splits.numpy()
        tokenized, first = [], 0
        for document in chunk:
            last = first + len(document)
            kept = [
                values[bounds[i] : bounds[i + 1]]
                for i in range(first, last)
                if bounds[i + 1] > bounds[i]
            ]
            first = last
            if len(kept) >= 2:
                tokenized.append(kept)
        return tokenized

    def _document_pairs(self, documents, index):
        """Google's ``create_instances_from_document``, without the masking."""
        rng = self.rng
        document = documents[index]
        target_length = self.max_tokens
        if rng.random() < self.short_seq_prob:
            target_length = int(rng.integers(2, self.max_tokens, endpoint=True))
        pairs = []
        chunk, chunk_length, i = [], 0, 0
        while i < len(document):
            chunk.append(document[i])
            chunk_length += len(document[i])
            if i == len(document) - 1 or chunk_length >= target_length:
                a_end = int(rng.integers(1, len(chunk))) if len(chunk) >= 2 else 1
                tokens_a = np.concatenate(chunk[:a_end])
                if len(chunk) == 1 or rng.random() < 0.5:
                    is_random_next = True
                    tokens_b = self._random_span(
                        documents, index, target_length - len(tokens_a)
                    )
                    # The sentences not used for B go back to be read again.
                    i -= len(chunk) - a_end
                else:
                    is_random_next = False
                    tokens_b = np.concatenate(chunk[a_end:])
                tokens_a, tokens_b = self._truncate(tokens_a, tokens_b)
                pairs.append(self._pair(tokens_a, tokens_b, is_random_next))
                chunk, chunk_length = [], 0
            i += 1
        return pairs

    def _random_span(self, documents, index, target_length):
        """Sentences from a random other document, from a random start, of at least
        ``target_length`` tokens (or to the document's end)."""
        other = int(self.rng.integers(0, len(documents) - 1))
        if other >= index:
            other += 1
        sentences = documents[other]
        start = int(self.rng.integers(0, len(sentences)))
        span, length = [], 0
        for sentence in sentences[start:]:
            span.append(sentence)
            length += len(sentence)
            if length >= target_length:
                break
        return np.concatenate(span)

    def _truncate(self, tokens_a, tokens_b):
        """Google's ``truncate_seq_pair`` in closed form.

        Google removes one token at a time from the longer segment (B on a tie), from
        its front or its back at random, until the pair fits. So the longer segment
        loses tokens until both are equally long, then they lose them in turn, B first;
        how many of a segment's removals come off its front is binomial.
        """
        length_a, length_b = len(tokens_a), len(tokens_b)
        excess = length_a + length_b - self.max_tokens
        if excess <= 0:
            return tokens_a, tokens_b
        gap = abs(length_a - length_b)
        if excess <= gap:
            cut_a, cut_b = (excess, 0) if length_a > length_b else (0, excess)
        else:
            rest = excess - gap
            cut_a = rest // 2 + (gap if length_a > length_b else 0)
            cut_b = rest - rest // 2 + (gap if length_b >= length_a else 0)
        return self._cut(tokens_a, cut_a), self._cut(tokens_b, cut_b)

    def _cut(self, tokens, count):
        if count == 0:
            return tokens
        front = int(self.rng.binomial(count, 0.5))
        return tokens[front : len(tokens) - (count - front)]

    def _pair(self, tokens_a, tokens_b, is_random_next):
        length_a, length = len(tokens_a), len(tokens_a) + len(tokens_b) + 3
        token_ids = np.full(self.seq_length, self.pad_id, np.int32)
        token_ids[0] = self.cls_id
        token_ids[1 : 1 + length_a] = tokens_a
        token_ids[1 + length_a] = self.sep_id
        token_ids[2 + length_a : length - 1] = tokens_b
        token_ids[length - 1] = self.sep_id
        segment_ids = np.zeros(self.seq_length, np.int32)
        segment_ids[2 + length_a : length] = 1
        return {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": np.arange(self.seq_length) < length,
            "next_sentence_label": np.int32(is_random_next),
        }


def _chunks(documents, size):
    """Yields lists of up to ``size`` documents; a last chunk of 1 joins the one before,
    so that every chunk can supply random next sentences."""
    iterator = iter(documents)
    chunk = _take(iterator, size)
    while chunk:
        following = _take(iterator, size)
        if 0 < len(following) < 2:
            chunk.extend(following)
            following = []
        yield chunk
        chunk = following


def _take(iterator, count):
    chunk = []
    for document in iterator:
        chunk.append(document)
        if len(chunk) == count:
            break
    return chunk


def _batch_tokenize(tokenizer):
    # Traced once: keras-hub's TensorFlow path is ~10x faster than its eager Python one.
    return tf.function(
        tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)]
    )
