"""Dynamic masking for BERT pretraining, applied to batches inside ``tf.data``.

Masks are drawn as batches are produced, so a repeated dataset sees new masks on every
pass. Whole-word masking (all WordPieces of a word masked together), which keras-hub lacks,
and token-level masking (every piece its own word) are one vectorised function here.
keras-hub's ``MaskedLMMaskGenerator`` is not used: its ``tf_text.RandomItemSelector``
shuffles each row with the stateful ``tf.random.shuffle`` inside a ``map_fn`` whose parallel
iterations share that op's generator, so which row gets which draw depends on thread timing
and two runs with the same seeds train on other masks (1 process in 5 drew other masks for
the first batches of a tiny run, with op determinism on).
"""

import tensorflow as tf

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


class PretrainingMasker:
    """Turns batches of sentence pairs into ``(inputs, labels, sample_weights)`` for
    ``BertPretrainer``.

    Of the non-special tokens, ``rate`` are chosen (at most ``max_predictions`` per
    sequence); of those, 80% become ``[MASK]``, 10% a random token and 10% stay as they
    are. ``[PAD]``, ``[CLS]`` and ``[SEP]`` are never chosen.

    Args:
        vocabulary: the WordPiece vocabulary (a list; ``##`` marks word continuations).
        max_predictions: masked positions per sequence (the MLM label width).
        rate: fraction of tokens to predict.
        mask_token_rate: of the chosen tokens, the fraction replaced by ``[MASK]``.
        random_token_rate: of the chosen tokens, the fraction replaced by a random token.
        whole_word: choose whole words (every WordPiece of a chosen word is predicted).
        next_sentence: pass the batches' ``next_sentence_label`` on as the ``nsp`` label
            (``False`` for a masked-LM-only pretrainer).

    Examples:

    ```python
    masker = PretrainingMasker(vocab, max_predictions=20)
    train = pairs.batch(32).map(masker)  # (x, y, sample_weight) for BertPretrainer.fit
    ```
    """

    def __init__(
        self,
        vocabulary,
        max_predictions=20,
        rate=0.15,
        mask_token_rate=0.8,
        random_token_rate=0.1,
        whole_word=False,
        next_sentence=True,
    ):
        index = {token: i for i, token in enumerate(vocabulary)}
        self.next_sentence = next_sentence
        self.vocabulary_size = len(vocabulary)
        self.mask_id = index["[MASK]"]
        self.unselectable = [index[t] for t in ("[PAD]", "[CLS]", "[SEP]")]
        self.first_regular_id = max(index[t] for t in SPECIAL_TOKENS) + 1
        self.max_predictions = max_predictions
        self.rate = rate
        self.mask_token_rate = mask_token_rate
        self.random_token_rate = random_token_rate
        self.whole_word = whole_word
        self.continuation = tf.constant([token.startswith("##") for token in vocabulary])

    def __call__(self, batch):
        token_ids = tf.cast(batch["token_ids"], tf.int32)
        masked = self.mask_words(token_ids)
        inputs = {
            "token_ids": tf.cast(masked["token_ids"], tf.int32),
            "segment_ids": tf.cast(batch["segment_ids"], tf.int32),
            "padding_mask": tf.cast(batch["padding_mask"], tf.int32),
            "mask_positions": tf.cast(masked["mask_positions"], tf.int32),
        }
        labels = {"mlm": tf.cast(masked["mask_ids"], tf.int32)}
        weights = {"mlm": tf.cast(masked["mask_weights"], tf.float32)}
        if self.next_sentence and "next_sentence_label" in batch:
            labels["nsp"] = tf.cast(batch["next_sentence_label"], tf.int32)
            weights["nsp"] = tf.ones_like(labels["nsp"], tf.float32)
        return inputs, labels, weights

    def mask_words(self, token_ids):
        """Masking of a dense ``[batch, seq]`` batch: whole words with ``whole_word``, else
        single WordPieces.

        Words (pieces) are visited in a random order and taken while their WordPieces still
        fit in the budget ``min(max_predictions, max(1, round(rate × real tokens)))``.
        """
        shape = tf.shape(token_ids)
        batch, length = shape[0], shape[1]
        special = tf.reduce_any(token_ids[..., None] == tf.constant(self.unselectable)[None, None, :], axis=-1)
        if self.whole_word:
            starts = tf.logical_or(special, tf.logical_not(tf.gather(self.continuation, token_ids)))
        else:
            starts = tf.ones_like(special)  # every piece is its own word
        word = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1  # word index of each token
        flat_word = word + length * tf.range(batch)[:, None]
        word_length = tf.reshape(
            tf.math.unsorted_segment_sum(tf.ones_like(token_ids), flat_word, batch * length), [batch, length]
        )
        word_special = tf.reshape(
            tf.math.unsorted_segment_max(tf.cast(special, tf.int32), flat_word, batch * length), [batch, length]
        )
        selectable = tf.logical_and(word_length > 0, word_special <= 0)
        score = tf.where(selectable, tf.random.uniform([batch, length]), 2.0)
        order = tf.argsort(score, axis=1, stable=True)
        cumulative = tf.cumsum(tf.gather(word_length, order, batch_dims=1), axis=1)
        real_tokens = tf.reduce_sum(tf.cast(tf.logical_not(special), tf.float32), axis=1)
        budget = tf.minimum(
            self.max_predictions, tf.maximum(1, tf.cast(tf.round(real_tokens * self.rate), tf.int32))
        )
        chosen_sorted = tf.logical_and(cumulative <= budget[:, None], tf.gather(selectable, order, batch_dims=1))
        chosen_word = tf.gather(chosen_sorted, tf.argsort(order, axis=1), batch_dims=1)
        chosen = tf.logical_and(tf.gather(chosen_word, word, batch_dims=1), tf.logical_not(special))

        # Positions of the chosen tokens first (in sequence order), then padding.
        positions = tf.argsort(tf.cast(tf.logical_not(chosen), tf.int32), axis=1, stable=True)
        positions = positions[:, : self.max_predictions]
        pad = self.max_predictions - tf.shape(positions)[1]
        positions = tf.pad(positions, [[0, 0], [0, pad]])
        weights = tf.cast(tf.gather(chosen, positions, batch_dims=1), tf.float32)
        mask_ids = tf.gather(token_ids, positions, batch_dims=1) * tf.cast(weights, tf.int32)
        positions = positions * tf.cast(weights, tf.int32)

        draw = tf.random.uniform(tf.shape(token_ids))
        random_ids = tf.random.uniform(
            tf.shape(token_ids), self.first_regular_id, self.vocabulary_size, dtype=tf.int32
        )
        replaced = tf.where(draw < self.mask_token_rate, self.mask_id,
                            tf.where(draw < self.mask_token_rate + self.random_token_rate, random_ids, token_ids))
        return {
            "token_ids": tf.where(chosen, replaced, token_ids),
            "mask_positions": positions,
            "mask_ids": mask_ids,
            "mask_weights": weights,
        }
