"""Your own data: preparing and reading a 10,000-image folder and a 100,000-row CSV, against the
training steps that consume them.

- Image folder: the 10,000 Fashion-MNIST test images written as PNG files into ten class
  folders (writing them is not timed as kerapre's). Prepared once into the cache
  (``image_dataset_info`` on a fresh cache: decode, re-encode, TFDS records), then read as
  ``finetune image`` reads it: ``load_image_dataset`` → ``image_pipeline`` (batch 32, shuffled,
  uncached so every pass decodes), against the step of a ``cnn_mnist`` classifier on cached
  batches (the precision ``auto`` picks).
- CSV: Rotten Tomatoes' 12,808 sentences written 8 times over (each copy tagged, so rows stay
  distinct) with a header, quotes where the text needs them: 102,464 rows. Reading it alone
  with Python's ``csv`` module, pandas' C parser and pandas' pyarrow engine; prepared once
  (``text_dataset_info``: read, split, TFDS records); then read as ``finetune text`` reads it:
  ``load_text_classification`` → ``text_pipeline`` (tokenised with MiniLM's 30,522-token
  vocabulary, sequence 128, dynamic padding and length bucketing, uncached), against the step of
  the smallest encoder kerapre trains, a fresh ``bert_tiny`` with that vocabulary.

Rates are examples/s: a stream's is the examples of one whole pass / its wall time (building
the iterator and filling the shuffle buffer included); a step's is batch / its per-step median.

    python benchmarks/user_data.py [--quick]
"""

import argparse
import csv
import os
import shutil
import tempfile
import time

from common import keras_step_fit, machine, save_result, step_medians

BATCH = 32
IMAGES = 10_000
COPIES = 8


def write_png_folder(root, limit):
    import numpy as np
    from PIL import Image

    from kerapre.data import dataset_to_numpy, load_image_dataset

    images, labels = dataset_to_numpy(load_image_dataset("fashion_mnist_local", "test"))
    images, labels = images[:limit], labels[:limit]
    for position, (image, label) in enumerate(zip(images, labels)):
        folder = os.path.join(root, f"class_{label}")
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image[..., 0]).save(os.path.join(folder, f"{position:05d}.png"))
    return len(labels), np.bincount(labels)


def write_csv(path, copies):
    from kerapre.data import load_text_classification

    rows = [(t.decode("utf-8"), int(y)) for t, y in load_text_classification("rotten_tomatoes", "train").concatenate(
        load_text_classification("rotten_tomatoes", "validation")).concatenate(
        load_text_classification("rotten_tomatoes", "test")).as_numpy_iterator()]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "label"])
        for copy in range(copies):
            writer.writerows((f"{text} (copy {copy})", ("rotten", "fresh")[label]) for text, label in rows)
    return len(rows) * copies


def pass_rate(ds):
    """Examples/s of one whole pass, the first batch included: the shuffle buffer (the whole
    set here) fills before it comes, so that is where most of the reading happens."""
    count = 0
    start = time.perf_counter()
    for batch in ds:
        count += int(batch[1].shape[0])
    seconds = time.perf_counter() - start
    return count / seconds, count, seconds


def image_side(work, quick):
    import keras

    from kerapre.data import image_dataset_info, image_pipeline, load_image_dataset
    from kerapre.distribute import set_precision
    from kerapre.models.cnn import CNN
    from kerapre.training.compile import compile_classifier
    from kerapre.config import TrainConfig

    root = os.path.join(work, "fashion_png")
    count, _ = write_png_folder(root, 2_000 if quick else IMAGES)
    cache = os.path.join(work, "cache")
    start = time.perf_counter()
    info = image_dataset_info(root, data_dir=cache)
    prepare_s = time.perf_counter() - start
    total = sum(info.split_sizes.values())
    train = load_image_dataset(root, "train", data_dir=cache)
    read_rate, read_count, _ = pass_rate(image_pipeline(train, batch_size=BATCH, training=True, cache=False,
                                                         image_shape=(28, 28, 1)))

    keras.utils.set_random_seed(0)
    precision = set_precision("auto")
    model = CNN.from_preset("cnn_mnist", num_classes=info.num_classes)
    compile_classifier(model, TrainConfig(optimizer="adam"), 1e-3)
    batches = image_pipeline(train.take(BATCH * 20), batch_size=BATCH, training=True,
                             image_shape=(28, 28, 1)).repeat()
    timing = step_medians({"step": keras_step_fit(model, batches)}, rounds=2 if quick else 3, steps=20 if quick else 60)
    keras.mixed_precision.set_dtype_policy("float32")
    step_rate = BATCH / timing["step"]["median_s"]
    return {"files": count, "prepared": total, "prepare_s": prepare_s, "prepare_rate": total / prepare_s,
            "read_rate": read_rate, "read_examples": read_count, "step_rate": step_rate,
            "step_median_s": timing["step"]["median_s"], "precision": precision}


def csv_side(work, quick):
    import keras
    import pandas

    from kerapre.config import TextTrainConfig
    from kerapre.data import BertTextPreprocessor, text_pipeline
    from kerapre.data.text_classification import load_text_classification, text_dataset_info
    from kerapre.data.text_table import TableOptions
    from kerapre.distribute import set_precision
    from kerapre.export.encoders import load_encoder
    from kerapre.models import BertEncoder
    from kerapre.tasks import TextClassifier
    from kerapre.training.compile import compile_classifier

    path = os.path.join(work, "reviews.csv")
    rows = write_csv(path, 1 if quick else COPIES)
    readers = {}
    for name, read in (
        ("Python csv module", lambda: list(csv.reader(open(path, newline="", encoding="utf-8-sig")))),
        ("pandas, C parser", lambda: pandas.read_csv(path, dtype=str, keep_default_na=False)),
        ("pandas, pyarrow engine", lambda: pandas.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")),
    ):
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            read()
            seconds.append(time.perf_counter() - start)
        readers[name] = min(seconds)
    cache = os.path.join(work, "cache")
    table = TableOptions(text_column="review")
    start = time.perf_counter()
    info = text_dataset_info(path, data_dir=cache, table=table)
    prepare_s = time.perf_counter() - start

    _, vocab = load_encoder("minilm_l6")
    preprocessor = BertTextPreprocessor(vocab, sequence_length=128)
    train = load_text_classification(path, "train", data_dir=cache, table=table)
    stream = text_pipeline(train, preprocessor, batch_size=BATCH, training=True, cache=False, pad_to_longest=True,
                           bucket_by_length=True)
    read_rate, read_count, _ = pass_rate(stream)

    keras.utils.set_random_seed(0)
    precision = set_precision("auto")
    model = TextClassifier(BertEncoder.from_preset("bert_tiny", vocabulary_size=len(vocab)), info.num_classes)
    compile_classifier(model, TextTrainConfig(), 3e-4)
    batches = text_pipeline(train.take(BATCH * 40), preprocessor, batch_size=BATCH, training=True,
                            pad_to_longest=True, bucket_by_length=True).repeat()
    timing = step_medians({"step": keras_step_fit(model, batches)}, rounds=2 if quick else 3, steps=20 if quick else 60)
    keras.mixed_precision.set_dtype_policy("float32")
    step_rate = BATCH / timing["step"]["median_s"]
    return {"rows": rows, "prepared": sum(info.split_sizes.values()), "split_sizes": info.split_sizes,
            "readers_s": readers, "prepare_s": prepare_s, "prepare_rate": rows / prepare_s, "read_rate": read_rate,
            "read_examples": read_count, "step_rate": step_rate, "step_median_s": timing["step"]["median_s"],
            "precision": precision}


def markdown(images, table):
    keeps = lambda side: "yes" if side["read_rate"] >= side["step_rate"] else "**no**"  # noqa: E731
    lines = [
        "Your own files as kerapre prepares and reads them (see [Your own data](datasets.md#your-own-data)): "
        f"a {images['files']:,}-image PNG folder (Fashion-MNIST's test images in ten class folders) and a "
        f"{table['rows']:,}-row CSV (Rotten Tomatoes' sentences, {COPIES} tagged copies). Preparing happens once "
        "per change of a file; reading is one uncached pass of the training pipeline; the step is the smallest "
        f"model that reads it (`cnn_mnist`; a fresh `bert_tiny` at sequence 128), batch {BATCH}, precision "
        f"{images['precision']}.",
        "",
        "| | examples | prepare once | read (training pipeline) | training step | pipeline keeps up |",
        "|---|---|---|---|---|---|",
        f"| image folder (PNG) | {images['prepared']:,} | {images['prepare_rate']:,.0f} images/s "
        f"({images['prepare_s']:.1f} s) | {images['read_rate']:,.0f} images/s | {images['step_rate']:,.0f} images/s "
        f"({images['step_median_s'] * 1000:.1f} ms) | {keeps(images)} ({images['read_rate'] / images['step_rate']:.1f}×) |",
        f"| CSV table | {table['prepared']:,} | {table['prepare_rate']:,.0f} rows/s ({table['prepare_s']:.1f} s) | "
        f"{table['read_rate']:,.0f} sentences/s (tokenised) | {table['step_rate']:,.0f} sentences/s "
        f"({table['step_median_s'] * 1000:.1f} ms) | {keeps(table)} ({table['read_rate'] / table['step_rate']:.1f}×) |",
        "",
        "Reading the CSV alone (best of 3): " + ", ".join(
            f"{name} {seconds:.2f} s" for name, seconds in table["readers_s"].items())
        + ". kerapre uses the `csv` module: no extra dependency, exact line numbers in its errors, and the TFDS "
        "write after it takes most of the preparing time either way.",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 images and one copy of the CSV (a smoke run)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="kerapre_bench_user_data_")
    try:
        images = image_side(work, args.quick)
        table = csv_side(work, args.quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(images, table, sep="\n")
    save_result("user_data", {
        "title": "Your own data: preparing and reading",
        "machine": machine(),
        "quick": args.quick,
        "images": images,
        "table": table,
        "markdown": markdown(images, table),
        "targets": [
            {"target": "image folder pipeline vs cnn_mnist step", "goal": "≥ 1× (keeps up)",
             "measured": f"{images['read_rate'] / images['step_rate']:.1f}×",
             "met": images["read_rate"] >= images["step_rate"]},
            {"target": "CSV pipeline vs bert_tiny step", "goal": "≥ 1× (keeps up)",
             "measured": f"{table['read_rate'] / table['step_rate']:.1f}×", "met": table["read_rate"] >= table["step_rate"]},
        ],
    })


if __name__ == "__main__":
    main()
