"""Small data makers shared by the tests."""

import numpy as np
import tensorflow as tf

WORDS = ("river mountain city music painter physics theory king war ship island language novel "
         "planet energy bridge forest church garden market school engine winter harbour").split()


def tiny_images(n=64, shape=(28, 28, 1), classes=10, seed=0):
    """Random uint8 images and balanced labels."""
    rng = tf.random.Generator.from_seed(seed)
    images = tf.cast(rng.uniform((n, *shape), 0, 256, dtype=tf.int32), tf.uint8).numpy()
    labels = (tf.range(n) % classes).numpy()
    return images, labels


def fake_bert_run(run_dir):
    """A fake BERT pretraining run in ``run_dir`` (a pathlib.Path): a 400-token vocab.txt
    learned on Rotten Tomatoes sentences and the pretrainer.keras of a one-layer encoder.
    Returns the run directory as a string."""
    import keras

    from kerapre.data import load_text_classification
    from kerapre.data.vocab import load_vocabulary
    from kerapre.data.vocab_learning import learn_vocabulary
    from kerapre.models import BertEncoder
    from kerapre.tasks import BertPretrainer
    from kerapre.training import WarmupLinearDecay

    texts = [text.decode() for text, _ in
             load_text_classification("rotten_tomatoes", "train[:1500]").as_numpy_iterator()]
    learn_vocabulary(texts, 400, output_path=str(run_dir), show_progress=False)
    encoder = BertEncoder(vocabulary_size=len(load_vocabulary(run_dir)), num_layers=1, num_heads=2, hidden_dim=32,
                          intermediate_dim=64, max_sequence_length=64, name="bert_tiny")
    pretrainer = BertPretrainer(encoder)
    pretrainer.compile(optimizer=keras.optimizers.AdamW(WarmupLinearDecay(1e-3, 10, 1)))
    pretrainer.save(str(run_dir / "pretrainer.keras"))
    return str(run_dir)


def topic_corpus(path):
    """Writes a BERT-format corpus to ``path`` (a pathlib.Path): 40 documents of 8 sentences,
    each document about two topic words. Returns the path as a string."""
    rng = np.random.default_rng(0)
    lines = []
    for doc in range(40):
        topic = rng.choice(WORDS, 2, replace=False)
        for _ in range(8):
            words = list(rng.choice(WORDS, 6)) + list(topic) * 2
            rng.shuffle(words)
            lines.append("The " + " ".join(words) + ".")
        lines.append("")
    path.write_text("\n".join(lines))
    return str(path)
