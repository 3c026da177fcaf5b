"""An independent BERT: a NumPy forward pass over a checkpoint's own arrays, and writers of
tiny random checkpoints in the Hugging Face and Google layouts.

Nothing here imports kerapre: the tests compare kerapre's converted encoders against it, so a
mistake in kerapre's name mapping or layer wiring cannot hide behind a matching mistake here.
Arrays use Hugging Face's names without the ``bert.`` prefix (dense weights ``[out, in]``).
"""

import json
import math
import os
import tempfile

import numpy as np


def gelu(x, approximate):
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def dense(x, w, name):
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def forward(w, config, token_ids, segment_ids, mask, approximate_gelu=None):
    """``(sequence_output, pooled_output)`` of BERT on ``[batch, seq]`` int arrays."""
    approximate = config["hidden_act"] != "gelu" if approximate_gelu is None else approximate_gelu
    eps, heads = config.get("layer_norm_eps", 1e-12), config["num_attention_heads"]
    positions = np.arange(token_ids.shape[1])
    x = (w["embeddings.word_embeddings.weight"][token_ids] + w["embeddings.position_embeddings.weight"][positions]
         + w["embeddings.token_type_embeddings.weight"][segment_ids])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    batch, seq, hidden = x.shape
    size = hidden // heads
    blocked = np.where(mask[:, None, None, :] > 0, 0.0, -1e9)  # keys that are padding
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"

        def split(t):
            return t.reshape(batch, seq, heads, size).transpose(0, 2, 1, 3)

        q, k, v = (split(dense(x, w, f"{p}.attention.self.{part}")) for part in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + blocked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v
        context = context.transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        x = layer_norm(x + dense(context, w, f"{p}.attention.output.dense"),
                       w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"], eps)
        inner = gelu(dense(x, w, f"{p}.intermediate.dense"), approximate)
        x = layer_norm(x + dense(inner, w, f"{p}.output.dense"),
                       w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], eps)
    pooled = np.tanh(dense(x[:, 0], w, "pooler.dense")) if "pooler.dense.weight" in w else None
    return x, pooled


def mlm_logits(w, config, sequence_output):
    """The masked-LM logits at every position (transform, then the tied embedding)."""
    approximate = config["hidden_act"] != "gelu"
    h = gelu(dense(sequence_output, w, "cls.predictions.transform.dense"), approximate)
    h = layer_norm(h, w["cls.predictions.transform.LayerNorm.weight"], w["cls.predictions.transform.LayerNorm.bias"],
                   config.get("layer_norm_eps", 1e-12))
    return h @ w["embeddings.word_embeddings.weight"].T + w["cls.predictions.bias"]


def nsp_logits(w, pooled):
    return dense(pooled, w, "cls.seq_relationship")


def random_checkpoint(vocab_size=40, hidden=16, layers=2, heads=2, intermediate=32, positions=24, seed=0,
                      scale=0.5, heads_too=True):
    """Random arrays (scaled so activations reach where GELU's two forms differ) and a config."""
    rng = np.random.default_rng(seed)

    def r(*shape):
        return (rng.standard_normal(shape) * scale).astype("float32")

    w = {"embeddings.word_embeddings.weight": r(vocab_size, hidden),
         "embeddings.position_embeddings.weight": r(positions, hidden),
         "embeddings.token_type_embeddings.weight": r(2, hidden),
         "embeddings.LayerNorm.weight": 1 + r(hidden), "embeddings.LayerNorm.bias": r(hidden),
         "pooler.dense.weight": r(hidden, hidden), "pooler.dense.bias": r(hidden)}
    for i in range(layers):
        p = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            w[f"{p}.attention.self.{part}.weight"], w[f"{p}.attention.self.{part}.bias"] = r(hidden, hidden), r(hidden)
        w[f"{p}.attention.output.dense.weight"], w[f"{p}.attention.output.dense.bias"] = r(hidden, hidden), r(hidden)
        w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"] = r(intermediate, hidden), r(intermediate)
        w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"] = r(hidden, intermediate), r(hidden)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}.{norm}.weight"], w[f"{p}.{norm}.bias"] = 1 + r(hidden), r(hidden)
    if heads_too:
        w.update({"cls.predictions.transform.dense.weight": r(hidden, hidden),
                  "cls.predictions.transform.dense.bias": r(hidden),
                  "cls.predictions.transform.LayerNorm.weight": 1 + r(hidden),
                  "cls.predictions.transform.LayerNorm.bias": r(hidden),
                  "cls.predictions.bias": r(vocab_size),
                  "cls.seq_relationship.weight": r(2, hidden), "cls.seq_relationship.bias": r(2)})
    config = {"model_type": "bert", "vocab_size": vocab_size, "hidden_size": hidden, "num_hidden_layers": layers,
              "num_attention_heads": heads, "intermediate_size": intermediate, "max_position_embeddings": positions,
              "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    return w, config


def vocabulary(size):
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return special + [f"w{i}" for i in range(size - len(special))]


def write_hf(directory, w, config, *, prefixed, lowercase=True):
    """A Hugging Face directory: ``prefixed`` writes ``BertForPreTraining`` names (``bert.``,
    ``gamma`` / ``beta``, the tied decoder), else ``BertModel`` names without the heads."""
    from safetensors.numpy import save_file

    os.makedirs(directory, exist_ok=True)
    arrays = {}
    for name, array in w.items():
        if name.startswith("cls.") and not prefixed:
            continue
        if prefixed and not name.startswith("cls."):
            name = "bert." + name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        arrays[name] = np.ascontiguousarray(array)
    if prefixed and "cls.predictions.bias" in w:
        arrays["cls.predictions.decoder.weight"] = w["embeddings.word_embeddings.weight"]
        arrays["cls.predictions.decoder.bias"] = w["cls.predictions.bias"]
    arrays["bert.embeddings.position_ids" if prefixed else "embeddings.position_ids"] = np.arange(
        config["max_position_embeddings"], dtype="int64")[None]
    save_file(arrays, os.path.join(directory, "model.safetensors"))
    architecture = "BertForPreTraining" if prefixed else "BertModel"
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump({**config, "architectures": [architecture]}, f)
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": lowercase}, f)
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(vocabulary(config["vocab_size"])) + "\n")
    return directory


GOOGLE_LAYER = {"attention.self.query": "attention/self/query", "attention.self.key": "attention/self/key",
                "attention.self.value": "attention/self/value", "attention.output.dense": "attention/output/dense",
                "intermediate.dense": "intermediate/dense", "output.dense": "output/dense"}


def google_name(name):
    """Google's variable name of a Hugging Face name, and whether its array is transposed."""
    fixed = {"embeddings.word_embeddings.weight": "bert/embeddings/word_embeddings",
             "embeddings.position_embeddings.weight": "bert/embeddings/position_embeddings",
             "embeddings.token_type_embeddings.weight": "bert/embeddings/token_type_embeddings",
             "cls.predictions.bias": "cls/predictions/output_bias",
             "cls.seq_relationship.weight": "cls/seq_relationship/output_weights",
             "cls.seq_relationship.bias": "cls/seq_relationship/output_bias"}
    if name in fixed:
        return fixed[name], False
    parts = name.split(".")
    leaf = {"weight": "kernel", "bias": "bias"}[parts[-1]]
    if "LayerNorm" in parts:
        leaf = {"weight": "gamma", "bias": "beta"}[parts[-1]]
    stem = ".".join(parts[:-1])
    if stem.startswith("encoder.layer."):
        index, rest = parts[2], ".".join(parts[3:-1])
        rest = GOOGLE_LAYER.get(rest, rest.replace(".", "/"))
        return f"bert/encoder/layer_{index}/{rest}/{leaf}", leaf == "kernel"
    if stem.startswith(("embeddings", "pooler")):
        return "bert/" + stem.replace(".", "/") + "/" + leaf, leaf == "kernel"
    return stem.replace(".", "/") + "/" + leaf, leaf == "kernel"


def write_google(directory, w, config, *, hidden_act="gelu"):
    """Google's layout: ``bert_config.json``, ``bert_model.ckpt.*`` (written by a TF1 saver, as
    Google's were) and ``vocab.txt``."""
    import tensorflow as tf

    os.makedirs(directory, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        for name, array in w.items():
            google, transposed = google_name(name)
            tf.compat.v1.Variable(array.T if transposed else array, name=google)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, os.path.join(directory, "bert_model.ckpt"), write_meta_graph=False)
    google_config = {key: config[key] for key in ("vocab_size", "hidden_size", "num_hidden_layers",
                                                  "num_attention_heads", "intermediate_size",
                                                  "max_position_embeddings", "type_vocab_size")}
    with open(os.path.join(directory, "bert_config.json"), "w") as f:
        json.dump({**google_config, "hidden_act": hidden_act, "initializer_range": 0.02}, f)
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(vocabulary(config["vocab_size"])) + "\n")
    return directory


def write_tf_hub(directory, w, config, *, lowercase=True, dropout=0.1):
    """A SavedModel in the TF Hub BERT API, written the way Model Garden's ``export_tfhub`` writes
    Google's ``bert_en_uncased_L-*`` encoders: a ``tf_keras`` model with dict inputs
    (``input_word_ids``, ``input_mask``, ``input_type_ids``) and outputs (``pooled_output``,
    ``sequence_output``, ``encoder_outputs``, ``default``), ``vocab_file`` and ``do_lower_case``
    attributes, ``save(save_format="tf")``: so it has ``__call__(inputs, training)`` and no
    serving signature kerapre could use instead. Dropout after the embeddings and each sublayer
    is on only under ``training=True``; the arithmetic is :func:`forward`'s, in TensorFlow."""
    import tensorflow as tf
    import tf_keras

    eps, heads = config.get("layer_norm_eps", 1e-12), config["num_attention_heads"]
    approximate = config["hidden_act"] != "gelu"

    class ReferenceBert(tf_keras.layers.Layer):
        def build(self, _):
            self.w = {name: self.add_weight(name=name.replace(".", "_"), shape=array.shape,
                                            initializer=tf_keras.initializers.Constant(array))
                      for name, array in w.items() if not name.startswith("cls.")}
            self.drop = tf_keras.layers.Dropout(dropout)

        def dense(self, x, name):
            return tf.matmul(x, self.w[f"{name}.weight"], transpose_b=True) + self.w[f"{name}.bias"]

        def norm(self, x, name):
            mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
            return (x - mean) / tf.sqrt(var + eps) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

        def call(self, inputs, training=None):
            ids, mask, types = inputs["input_word_ids"], inputs["input_mask"], inputs["input_type_ids"]
            seq = tf.shape(ids)[1]
            x = (tf.gather(self.w["embeddings.word_embeddings.weight"], ids)
                 + self.w["embeddings.position_embeddings.weight"][:seq]
                 + tf.gather(self.w["embeddings.token_type_embeddings.weight"], types))
            x = self.drop(self.norm(x, "embeddings.LayerNorm"), training=training)
            blocked = (1.0 - tf.cast(mask[:, None, None, :], tf.float32)) * -1e9
            hidden = x.shape[-1]
            size = hidden // heads
            layers = []
            for i in range(config["num_hidden_layers"]):
                p = f"encoder.layer.{i}"

                def split(t):
                    return tf.transpose(tf.reshape(t, [tf.shape(t)[0], seq, heads, size]), [0, 2, 1, 3])

                q, k, v = (split(self.dense(x, f"{p}.attention.self.{part}")) for part in ("query", "key", "value"))
                scores = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) / math.sqrt(size) + blocked)
                context = tf.reshape(tf.transpose(tf.matmul(scores, v), [0, 2, 1, 3]), [tf.shape(x)[0], seq, hidden])
                attended = self.drop(self.dense(context, f"{p}.attention.output.dense"), training=training)
                x = self.norm(x + attended, f"{p}.attention.output.LayerNorm")
                inner = tf.nn.gelu(self.dense(x, f"{p}.intermediate.dense"), approximate=approximate)
                x = self.norm(x + self.drop(self.dense(inner, f"{p}.output.dense"), training=training),
                              f"{p}.output.LayerNorm")
                layers.append(x)
            pooled = tf.tanh(self.dense(x[:, 0], "pooler.dense"))
            return {"sequence_output": x, "pooled_output": pooled, "encoder_outputs": layers, "default": pooled}

    inputs = {name: tf_keras.Input(shape=(None,), dtype=tf.int32, name=name)
              for name in ("input_word_ids", "input_mask", "input_type_ids")}
    model = tf_keras.Model(inputs, ReferenceBert()(inputs))
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = os.path.join(tmp, "vocab.txt")
        with open(vocab_file, "w") as f:
            f.write("\n".join(vocabulary(config["vocab_size"])) + "\n")
        model.vocab_file = tf.saved_model.Asset(vocab_file)
        model.do_lower_case = tf.Variable(lowercase, trainable=False)
        model.save(os.fspath(directory), include_optimizer=False, save_format="tf")
    return directory
