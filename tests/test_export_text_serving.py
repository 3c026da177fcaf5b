"""Tests of the text classifier's TF Serving export: raw strings, pairs, token ids and tf.Examples."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerapre.data import BertTextPreprocessor
from kerapre.data.vocab import vocabulary_hash
from kerapre.errors import ExportError
from kerapre.export.layout import read_metadata
from kerapre.export.text_serving import WARMUP_FILE, text_serving_archive, write_text_serving
from kerapre.models import BertEncoder
from kerapre.tasks import TextClassifier

WORDS = (
    "the a an and or but of to in on at for with from by is was were be been it this that these "
    "film movie plot story cast actor actors scene scenes ending music photography dialogue "
    "good bad great awful dull moving gripping fine lovely flat long short funny sad boring "
    "very not no yes too quite so more most less worth seeing start finish one next after "
    "anyone has have had stopped caring though i you he she we they cafe naive"
).split()
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789")
VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,!?'-", *WORDS, *(c for c in CHARS if c not in WORDS),
    *(f"##{c}" for c in CHARS), *(f"##{w}" for w in ("ing", "ed", "ly", "er")),
]
LABELS = ["negative", "positive"]
SEQ = 16
LONG = " ".join(["the plot wanders from one scene to the next and the dialogue is flat"] * 6)
TEXTS = ["The film was good.", "An awful, dull plot!", "", LONG, "Café naïve qwzx", "very very moving"]
FIRST = ["Is the film worth seeing?", "", LONG, "dull"]
SECOND = ["Yes, it is gripping.", "great", "not at all", ""]


def _model(preprocessor, seed=1):
    keras.utils.set_random_seed(seed)
    encoder = BertEncoder(vocabulary_size=len(VOCAB), num_layers=1, num_heads=2, hidden_dim=32,
                          intermediate_dim=64, dropout=0.0, max_sequence_length=32)
    model = TextClassifier(encoder, num_classes=2, dropout=0.0)
    # An untrained encoder pools every text to nearly the same vector: spread the logits and
    # centre them on the test texts, so that the texts get both classes.
    logits = model.get_layer("logits")
    logits.kernel.assign(np.random.default_rng(seed).normal(0.0, 30.0, logits.kernel.shape).astype("float32"))
    logits.bias.assign(-tf.reduce_mean(tf.cast(model(preprocessor(TEXTS)), tf.float32), axis=0))
    return model


def _expected(model, inputs):
    return tf.nn.softmax(tf.cast(model(inputs), tf.float32)).numpy()


def _check_outputs(out, expected, atol=1e-5):
    assert out["probabilities"].dtype == tf.float32 and out["class_ids"].dtype == tf.int64
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=atol)
    np.testing.assert_array_equal(out["class_ids"].numpy(), expected.argmax(-1))
    assert [s.decode() for s in out["labels"].numpy()] == [LABELS[i] for i in expected.argmax(-1)]


def _examples(**features):
    """Serialised tf.Examples with bytes features, one per position of the lists."""
    n = len(next(iter(features.values())))
    return [
        tf.train.Example(features=tf.train.Features(feature={
            name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[values[i].encode()]))
            for name, values in features.items()
        })).SerializeToString()
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def preprocessor():
    return BertTextPreprocessor(VOCAB, sequence_length=SEQ)


@pytest.fixture(scope="module")
def model(preprocessor):
    return _model(preprocessor)


@pytest.fixture(scope="module")
def exported(model, preprocessor, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("sentiment") / "1")
    os.makedirs(directory)
    record = write_text_serving(model, preprocessor, directory, {"name": "sentiment", "version": 1, "data": "rt"},
                                label_names=LABELS)
    return directory, record


@pytest.fixture(scope="module")
def signatures(exported):
    return tf.saved_model.load(exported[0]).signatures


@pytest.fixture(scope="module")
def pair_signatures(model, preprocessor, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("nli") / "1")
    os.makedirs(directory)
    write_text_serving(model, preprocessor, directory, {}, label_names=LABELS, pair=True)
    return directory, tf.saved_model.load(directory).signatures


@pytest.fixture(scope="module")
def fresh_processes(exported):
    """``saved_model_cli show --all`` and a reload with TensorFlow alone, run side by side."""
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    # Only TensorFlow and the tf.text op library (which imports tf.keras itself): no kerapre or keras-hub code.
    script = (
        "import json, sys\n"
        "import tensorflow as tf, tensorflow_text\n"
        "serving = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = serving(text=tf.constant(json.loads(sys.argv[2])))\n"
        "assert not {'kerapre', 'keras_hub'} & set(sys.modules)\n"
        "print(json.dumps({k: v.numpy().tolist() for k, v in out.items() if k != 'labels'}))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    commands = {"cli": [cli, "show", "--all", "--dir", exported[0]],
                "reload": [sys.executable, "-c", script, exported[0], json.dumps(TEXTS)]}
    running = {name: subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for name, command in commands.items()}
    results = {}
    try:
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, f"{name}: {stderr[-2000:]}"
            results[name] = stdout
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def test_saved_model_cli_lists_the_signatures(fresh_processes):
    shown = fresh_processes["cli"]
    sections = {part.split("']")[0]: part for part in shown.split("signature_def['")[1:]}
    assert {"serving_default", "serving_tokenized", "serving_examples"} <= set(sections)
    default = sections["serving_default"]
    assert "inputs['text'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in default
    assert "outputs['probabilities'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 2)" in default
    assert "outputs['class_ids'] tensor_info:\n        dtype: DT_INT64\n        shape: (-1)" in default
    assert "outputs['labels'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in default
    for name in ("token_ids", "segment_ids", "padding_mask"):
        assert f"inputs['{name}'] tensor_info:\n        dtype: DT_INT32\n        shape: (-1, -1)" in sections[
            "serving_tokenized"]
    assert "inputs['examples'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in sections[
        "serving_examples"]
    assert "outputs['probabilities'] tensor_info:\n        dtype: DT_FLOAT" in sections["serving_examples"]
    # TF 2 gives every signature the Predict method: Classify and Regress refuse them (tensorflow#38081).
    assert "Method name is: tensorflow/serving/predict" in sections["serving_examples"]


def test_a_fresh_process_serves_raw_text_with_tensorflow_alone(model, preprocessor, fresh_processes):
    out = json.loads(fresh_processes["reload"].strip().splitlines()[-1])
    expected = _expected(model, preprocessor(TEXTS))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    assert out["class_ids"] == expected.argmax(-1).tolist()


def test_every_signature_equals_the_keras_model(model, preprocessor, signatures):
    inputs = preprocessor(TEXTS)
    expected = _expected(model, inputs)
    assert len(set(expected.argmax(-1))) == 2, "the test texts should get both classes"
    _check_outputs(signatures["serving_default"](text=tf.constant(TEXTS)), expected)
    _check_outputs(signatures["serving_tokenized"](**inputs), expected)
    _check_outputs(signatures["serving_examples"](examples=tf.constant(_examples(text=TEXTS))), expected)


def test_long_texts_are_cut_and_empty_ones_answered(model, preprocessor, signatures):
    inputs = preprocessor([LONG, ""])
    assert inputs["padding_mask"].numpy()[0].all(), "LONG should fill the sequence"
    assert inputs["padding_mask"].numpy()[1].sum() == 2  # [CLS] [SEP]
    _check_outputs(signatures["serving_default"](text=tf.constant([LONG, ""])), _expected(model, inputs))
    single = signatures["serving_default"](text=tf.constant([""]))
    assert single["probabilities"].shape == (1, 2)
    # Token ids of any length up to the encoder's reach go through serving_tokenized.
    short = preprocessor(["good"])
    short = {k: v[:, :4] for k, v in short.items()}
    _check_outputs(signatures["serving_tokenized"](**short), _expected(model, short))


def test_pair_model_serves_pairs_by_default_and_by_name(model, preprocessor, pair_signatures):
    directory, signatures = pair_signatures
    assert {"serving_default", "serving_pair", "serving_tokenized", "serving_examples"} <= set(signatures)
    expected = _expected(model, preprocessor((FIRST, SECOND)))
    for name in ("serving_default", "serving_pair"):
        _check_outputs(signatures[name](first=tf.constant(FIRST), second=tf.constant(SECOND)), expected)
    _check_outputs(signatures["serving_examples"](examples=tf.constant(_examples(first=FIRST, second=SECOND))),
                   expected)
    meta = read_metadata(directory)
    assert meta["pair"] is True and meta["signatures"][:2] == ["serving_pair", "serving_default"]


def _warmup_requests(directory):
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(directory, "assets.extra", WARMUP_FILE)
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
            for record in tf.data.TFRecordDataset(path)]


@pytest.mark.parametrize("pair", [False, True], ids=["text", "pair"])
def test_warmup_requests_run_against_the_signature(exported, signatures, pair_signatures, pair):
    directory, signatures = pair_signatures if pair else (exported[0], signatures)
    requests = _warmup_requests(directory)
    assert 2 <= len(requests) <= 1000
    assert {len(tf.make_ndarray(next(iter(r.inputs.values())))) for r in requests} >= {1, 4}
    for request in requests:
        assert request.model_spec.signature_name == "serving_default"
        assert set(request.inputs) == ({"first", "second"} if pair else {"text"})
        feed = {name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()}
        out = signatures[request.model_spec.signature_name](**feed)
        assert out["probabilities"].shape == (len(next(iter(feed.values()))), 2)
    texts = [t for r in requests for t in tf.make_ndarray(next(iter(r.inputs.values())))]
    assert b"" in texts


def test_metadata_vocabulary_and_files(exported, preprocessor):
    directory, record = exported
    meta = read_metadata(directory)
    assert meta == json.loads(json.dumps(record))
    assert meta["format"] == "serving" and meta["task"] == "text_classification" and meta["pair"] is False
    assert meta["sequence_length"] == SEQ and meta["lowercase"] is True and meta["vocabulary_size"] == len(VOCAB)
    assert meta["vocabulary_hash"] == vocabulary_hash(VOCAB) and meta["label_names"] == LABELS
    assert meta["name"] == "sentiment" and meta["data"] == "rt"
    with open(os.path.join(directory, "assets.extra", "vocab.txt"), encoding="utf-8") as f:
        assert f.read().splitlines() == VOCAB
    assert set(os.listdir(os.path.join(directory, "assets.extra"))) == {"kerapre.json", "vocab.txt", WARMUP_FILE}


def test_mixed_bfloat16_model_exports_float32_outputs(preprocessor, tmp_path):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = TextClassifier(BertEncoder(vocabulary_size=len(VOCAB), num_layers=1, num_heads=2, hidden_dim=32,
                                           max_sequence_length=32), num_classes=2)
        assert model.backbone.compute_dtype == "bfloat16"
        directory = str(tmp_path / "1")
        os.makedirs(directory)
        write_text_serving(model, preprocessor, directory, {}, label_names=LABELS, warmup_texts=[])
        expected = _expected(model, preprocessor(TEXTS))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    signatures = tf.saved_model.load(directory).signatures
    out = signatures["serving_default"](text=tf.constant(TEXTS))
    assert out["probabilities"].dtype == tf.float32
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-2)
    assert signatures["serving_default"].structured_outputs["probabilities"].dtype == tf.float32
    assert not os.path.exists(os.path.join(directory, "assets.extra", WARMUP_FILE))


def test_bad_inputs_are_refused_before_anything_is_written(model, preprocessor, tmp_path):
    def refused(match, **kwargs):
        arguments = {"model": model, "preprocessor": preprocessor, "directory": str(tmp_path),
                     "metadata": {}, "label_names": LABELS, **kwargs}
        with pytest.raises(ExportError, match=match) as error:
            write_text_serving(**arguments)
        assert "\n" not in str(error.value)

    refused("3 label names for a model with 2 classes: pass one name per class", label_names=["a", "b", "c"])
    refused("vocabulary has 9 tokens but the model's encoder embeds",
            preprocessor=BertTextPreprocessor(VOCAB[:9], sequence_length=SEQ))
    refused("packs 64 tokens but the model's encoder takes at most 32",
            preprocessor=BertTextPreprocessor(VOCAB, sequence_length=64))
    refused("pass the kerapre.data.BertTextPreprocessor", preprocessor=lambda texts: texts)
    refused("pass a list of strings", warmup_texts="one text")
    refused(r"pass a list of \(first, second\) string pairs", warmup_texts=["not a pair"], pair=True)
    refused("pass at most 999", warmup_texts=["x"] * 1000)
    image_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    refused("pass a kerapre.tasks.TextClassifier", model=image_model)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ExportError, match="label names"):
        text_serving_archive(model, preprocessor, ["only one"])
