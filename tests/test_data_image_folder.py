"""Image folders (root/<class>/<image>) as image classification sets, through the data layer and the CLI."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerapre import cli
from kerapre.data import dataset_to_numpy, image_dataset_info, image_pipeline, load_image_dataset
from kerapre.data.image_folder import FolderOptions, convert_channels, scan_image_folder
from kerapre.data.image_pipeline import conform_images
from kerapre.errors import DataError

WHOLE = FolderOptions(validation_fraction=0, test_fraction=0)


def _write_split(root, split, images, labels):
    for position, (image, label) in enumerate(zip(images, labels)):
        folder = os.path.join(root, split, str(label))
        os.makedirs(folder, exist_ok=True)
        # Named by position: the folder's order (file names across classes) is the built-in order.
        Image.fromarray(image[..., 0]).save(os.path.join(folder, f"{position:05d}.png"))


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory):
    """MNIST-5k written as PNG files into train/<digit>/ and test/<digit>/."""
    root = str(tmp_path_factory.mktemp("mnist_png"))
    builtin = {}
    for split in ("train", "test"):
        builtin[split] = dataset_to_numpy(load_image_dataset("mnist_5k", split))
        _write_split(root, split, *builtin[split])
    return root, builtin


def _cache_entries(data_dir):
    user = os.path.join(data_dir, "user")
    return sorted(e for e in os.listdir(user) if not e.startswith(".")) if os.path.isdir(user) else []


def _tree(root, spec):
    """Writes ``{relative path: uint8 array or bytes}`` under ``root``."""
    for relative, content in spec.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, bytes):
            with open(path, "wb") as f:
                f.write(content)
        else:
            Image.fromarray(content.squeeze(-1) if content.shape[-1] == 1 else content).save(path)


def _grey(value, size=(6, 6)):
    return np.full((*size, 1), value, np.uint8)


def test_png_folder_equals_the_builtin_set_exactly_and_in_order(mnist_folder):
    root, builtin = mnist_folder
    info = image_dataset_info(root, folder=WHOLE)
    assert info.image_shape == (28, 28, 1) and info.num_classes == 10
    assert info.label_names == tuple(str(d) for d in range(10))
    assert info.split_sizes == {"train": 3000, "test": 2000}
    for split in ("train", "test"):
        images, labels = dataset_to_numpy(load_image_dataset(root, split, folder=WHOLE))
        np.testing.assert_array_equal(images, builtin[split][0])
        np.testing.assert_array_equal(labels, builtin[split][1])


def test_a_single_tree_is_split_by_class_with_a_fixed_seed_and_no_shared_file(tmp_path):
    spec = {f"{name}/{i:02d}.png": _grey(20 * c + i) for c, name in enumerate(("ant", "bee", "cat"))
            for i in range(20)}
    _tree(tmp_path / "pets", spec)
    options = FolderOptions(validation_fraction=0.2, test_fraction=0.1)
    info = image_dataset_info(str(tmp_path / "pets"), folder=options)
    assert info.label_names == ("ant", "bee", "cat")
    assert info.split_sizes == {"train": 42, "validation": 12, "test": 6}
    files, _ = scan_image_folder(str(tmp_path / "pets"))
    assert list(files) == [None] and len(files[None]) == 60
    seen = {}
    for split in ("train", "validation", "test"):
        images, labels = dataset_to_numpy(load_image_dataset(str(tmp_path / "pets"), split, folder=options))
        assert np.bincount(labels, minlength=3).tolist() == [info.split_sizes[split] // 3] * 3
        seen[split] = {(int(label), int(image[0, 0, 0])) for image, label in zip(images, labels)}
    assert not (seen["train"] & seen["validation"]) and not (seen["train"] & seen["test"])
    assert not (seen["validation"] & seen["test"])
    assert sum(len(s) for s in seen.values()) == 60


def test_formats_channels_alpha_and_sizes(tmp_path):
    rgb = np.zeros((6, 6, 3), np.uint8)
    rgb[..., 0] = 200
    rgba = np.concatenate([rgb, np.full((6, 6, 1), 7, np.uint8)], axis=-1)
    root = tmp_path / "mixed"
    _tree(root, {"a/1.png": _grey(50), "a/2.bmp": rgb, "b/3.gif": rgb, "b/4.png": rgba, "b/5.jpg": _grey(90)})
    info = image_dataset_info(str(root), folder=WHOLE)
    assert info.image_shape == (6, 6, 3)  # one RGB image makes the whole set RGB
    images, labels = dataset_to_numpy(load_image_dataset(str(root), "train", folder=WHOLE))
    by_name = dict(zip(["1", "2", "3", "4", "5"], images))  # sorted by file name
    np.testing.assert_array_equal(by_name["1"], np.full((6, 6, 3), 50, np.uint8))  # grey repeated into RGB
    np.testing.assert_array_equal(by_name["2"], rgb)
    assert abs(int(by_name["3"][0, 0, 0]) - 200) <= 2  # GIF: a palette, nearly exact
    np.testing.assert_array_equal(by_name["4"], rgb)  # alpha dropped
    assert abs(int(by_name["5"][0, 0, 0]) - 90) <= 2  # JPEG is lossy
    assert labels.tolist() == [0, 0, 1, 1, 1]


def test_conform_images_converts_channels_and_resizes_only_when_asked(tmp_path):
    rgb = tf.constant(np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8))
    grey = convert_channels(rgb, 1)
    np.testing.assert_array_equal(grey.numpy()[..., 0], [[76, 150]])  # ITU-R 601 luma, rounded
    np.testing.assert_array_equal(convert_channels(grey, 3).numpy(), np.repeat(grey.numpy(), 3, axis=-1))

    _tree(tmp_path / "sizes", {"a/1.png": _grey(10, (6, 6)), "b/2.png": _grey(20, (8, 5))})
    ds = load_image_dataset(str(tmp_path / "sizes"), "train", folder=WHOLE)
    assert ds.element_spec[0].shape.as_list() == [None, None, 1]
    with pytest.raises(DataError, match=r"vary in size .* set data\.resize: true"):
        image_pipeline(ds, batch_size=2, training=False, image_shape=(28, 28, 1))
    images, _ = next(iter(image_pipeline(ds, batch_size=2, training=False, image_shape=(28, 28, 3), resize=True)))
    assert images.shape == (2, 28, 28, 3) and images.dtype == tf.float32
    np.testing.assert_allclose(images[0].numpy(), 10.0)
    one_size = conform_images(load_image_dataset("mnist_5k", "test").take(2), (32, 32, 3), resize=True)
    assert one_size.element_spec[0].shape == (32, 32, 3)


@pytest.mark.parametrize("spec, message", [
    ({}, "has no class folders"),
    ({"a/1.png": _grey(1), "b/notes.txt": b"hello"}, r"b/notes\.txt is not a PNG, JPEG, BMP or GIF image"),
    ({"a/1.png": _grey(1), "b/broken.png": b"not a png"}, r"b/broken\.png is not a readable image"),
    ({"a/1.png": _grey(1), "a/2.png": _grey(2)}, r"one class folder \(a\): a classifier needs at least two"),
    ({"train/a/1.png": _grey(1), "train/b/2.png": _grey(2), "test/c/3.png": _grey(3)},
     r"test has class folders that train/ lacks \(c\)"),
    ({"test/a/1.png": _grey(1)}, r"has test/ but no train/"),
])
def test_bad_folders_fail_in_one_line_and_leave_nothing_in_the_cache(tmp_path, spec, message):
    root = tmp_path / "bad"
    root.mkdir()
    _tree(root, spec)
    data_dir = str(tmp_path / "cache")
    with pytest.raises(DataError, match=message) as error:
        image_dataset_info(str(root), data_dir=data_dir)
    assert "\n" not in str(error.value)
    assert _cache_entries(data_dir) == []


def test_an_empty_class_folder_and_an_undecodable_image_leave_nothing_half_written(tmp_path):
    root = tmp_path / "empty_class"
    (root / "b").mkdir(parents=True)
    _tree(root, {"a/1.png": _grey(1)})
    with pytest.raises(DataError, match=r"class folder .*/b has no images"):
        image_dataset_info(str(root), data_dir=str(tmp_path / "cache"))
    # A PNG whose header reads but whose pixels are cut off fails while the set is written.
    png = tmp_path / "whole.png"
    Image.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).save(png)
    cut = png.read_bytes()[:-40]
    _tree(tmp_path / "cut", {"a/1.png": _grey(1, (64, 64)), "b/2.png": cut})
    data_dir = str(tmp_path / "cache2")
    with pytest.raises(DataError, match=r"b/2\.png cannot be decoded"):
        image_dataset_info(str(tmp_path / "cut"), data_dir=data_dir, folder=WHOLE)
    assert _cache_entries(data_dir) == []  # no prepared version, no scratch directory


def test_a_changed_file_prepares_the_set_again_and_removes_the_stale_one(tmp_path):
    root = tmp_path / "change"
    _tree(root, {"a/1.png": _grey(1), "b/2.png": _grey(2)})
    logs = []
    data_dir = str(tmp_path / "cache")
    load_image_dataset(str(root), "train", data_dir=data_dir, folder=WHOLE)
    from kerapre.data.image_folder import prepare_image_folder

    prepare_image_folder(str(root), WHOLE, data_dir, log=logs.append)
    assert logs == []  # prepared once, then read from the cache
    _tree(root, {"b/2.png": _grey(99)})
    os.utime(root / "b" / "2.png", ns=(1, 1))
    prepare_image_folder(str(root), WHOLE, data_dir, log=logs.append)
    assert len(logs) == 1 and "preparing" in logs[0]
    images, _ = dataset_to_numpy(load_image_dataset(str(root), "train", data_dir=data_dir, folder=WHOLE))
    assert images[1, 0, 0, 0] == 99
    (entry,) = _cache_entries(data_dir)
    assert len(os.listdir(os.path.join(data_dir, "user", entry))) == 1  # the stale version is gone


def _accuracy(run_dir):
    with open(os.path.join(run_dir, "run.json")) as f:
        return json.load(f)["test_accuracy"]


def test_every_image_command_takes_a_folder(mnist_folder, in_tmp, capsys):
    root, builtin = mnist_folder
    finetune = ["finetune", "image", "--backbone", "scratch", "--set", "labels_per_class=20",
                "--set", "train.epochs=6", "--set", "train.verbose=0"]
    assert cli.main([*finetune, "--set", "data.name=mnist_5k", "--model-dir", "builtin"]) == 0
    assert cli.main([*finetune, "--set", f"data.name={root}", "--set", "data.validation_fraction=0",
                     "--model-dir", "folder"]) == 0
    accuracy = _accuracy("folder")
    assert accuracy == pytest.approx(_accuracy("builtin"), abs=1e-6)  # the same examples, the same run
    assert accuracy > 0.1 + 0.3  # majority class: 0.1
    capsys.readouterr()

    # evaluate reads the run's own folder and keys; predict takes image files.
    assert cli.main(["evaluate", "--model", "folder"]) == 0
    assert f"accuracy {accuracy:.4f} over 2000 examples" in capsys.readouterr().out
    files = [os.path.join(root, "test", str(builtin["test"][1][i]), f"{i:05d}.png") for i in range(4)]
    assert cli.main(["predict", "--model", "folder", "--json", *files]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [a["file"] for a in answers] == files
    assert all(set(a["probabilities"]) == {str(d) for d in range(10)} for a in answers)

    tiny = ["--set", "data.limit=128", "--set", "data.batch_size=32", "--set", "train.epochs=1",
            "--set", "train.verbose=0"]
    assert cli.main(["pretrain", "cnn", "--set", f"data.name={root}", "--set", "data.validation_fraction=0",
                     "--model-dir", "cnn", *tiny]) == 0
    with open("cnn/run.json") as f:
        assert json.load(f)["label_names"] == [str(d) for d in range(10)]
    assert cli.main(["pretrain", "simclr", "--set", f"data.name={root}", "--set", "data.exclude=[]",
                     "--model-dir", "simclr", *tiny]) == 0
    assert os.path.exists("simclr/model.keras")
    assert cli.main(["report", "image", "--backbone", "simclr=simclr", "--output", "report", "--set", f"target={root}",
                     "--set", "validation_fraction=0", "--set", "labels_per_class=[2]", "--set", "seeds=[0]",
                     "--set", "limit=200", "--set", "validation_per_class=5", "--set", "train.min_steps=4",
                     "--set", "train.epochs=1", "--set", "train.evaluations=2", "--set", "train.probe_c=[1.0]"]) == 0
    assert os.path.exists("report/label_efficiency.csv")


def test_a_folder_of_rgb_images_needs_resize_for_a_28x28_model(tmp_path, in_tmp, capsys):
    rng = np.random.default_rng(0)
    _tree(tmp_path / "rgb", {f"{c}/{i}.png": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
                             for c in ("x", "y") for i in range(12)})
    argv = ["finetune", "image", "--backbone", "scratch", "--set", f"data.name={tmp_path / 'rgb'}",
            "--set", "labels_per_class=4", "--set", "train.epochs=1",
            "--set", "train.verbose=0"]
    assert cli.main(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the preparing progress bars
    assert last.startswith("kerapre: error: data set yields images of shape (32, 32, 3)") and "set data.resize: true" in last
    assert not os.path.exists("runs")  # no run directory half-written
    assert cli.main([*argv, "--set", "data.resize=true"]) == 0


def test_float_images_in_unit_range_are_warned_about_once_not_refused(cnn_file):
    from kerapre.report.features import extract_features

    images, labels = dataset_to_numpy(load_image_dataset("mnist_5k", "test").take(64))
    scaled = images.astype(np.float32) / 255.0
    with pytest.warns(UserWarning, match=r"floats in \[0, 1\].*x \* 255"):
        image_pipeline(tf.data.Dataset.from_tensor_slices((scaled, labels)), batch_size=8, training=False)
    with pytest.warns(UserWarning, match=r"floats in \[0, 1\]"):
        extract_features(cnn_file, scaled)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # raw pixels, as floats or uint8: no warning
        image_pipeline(tf.data.Dataset.from_tensor_slices((images.astype(np.float32), labels)), batch_size=8,
                       training=False)
        extract_features(cnn_file, images)


def test_concurrent_processes_prepare_a_folder_once(tmp_path):
    """Two processes (two workers sharing a cache) asking for the same new folder at once: one
    prepares it, the other waits for the lock and reads what the first wrote."""
    import subprocess
    import sys

    _tree(tmp_path / "shared", {f"{c}/{i}.png": _grey(i) for c in ("a", "b") for i in range(30)})
    script = (
        "import sys\n"
        "from kerapre.data.image_folder import FolderOptions, prepare_image_folder\n"
        "builder = prepare_image_folder(sys.argv[1], FolderOptions(), sys.argv[2], log=lambda m: print('PREPARED'))\n"
        "print('SIZES', dict(sorted((k, v.num_examples) for k, v in builder.info.splits.items())))\n"
    )
    command = [sys.executable, "-c", script, str(tmp_path / "shared"), str(tmp_path / "cache")]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for _ in range(2)]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert sum(out.count("PREPARED") for out in outputs) == 1
    sizes = {line for out in outputs for line in out.splitlines() if line.startswith("SIZES")}
    assert sizes == {"SIZES {'test': 6, 'train': 48, 'validation': 6}"}


def test_self_supervised_pretraining_takes_a_flat_folder_of_images(tmp_path, in_tmp):
    from kerapre.workflows.pretrain_ssl import load_unlabelled_images

    rng = np.random.default_rng(1)
    _tree(tmp_path / "unlabelled", {f"shot_{i:03d}.png": rng.integers(0, 255, (28, 28, 1), dtype=np.uint8)
                                    for i in range(40)})
    with pytest.raises(DataError, match="has no class folders"):  # a classifier needs classes
        image_dataset_info(str(tmp_path / "unlabelled"), data_dir=str(tmp_path / "cache"))
    images = load_unlabelled_images(str(tmp_path / "unlabelled"), "train", folder=WHOLE)
    assert int(images.cardinality()) == 40 and images.element_spec.shape == (28, 28, 1)
    assert cli.main(["pretrain", "rotation", "--set", f"data.name={tmp_path / 'unlabelled'}", "--set", "data.exclude=[]",
                     "--set", "data.batch_size=8", "--set", "train.epochs=1", "--set", "train.verbose=0",
                     "--model-dir", "rotation"]) == 0
    assert os.path.exists("rotation/model.keras")


def test_too_few_images_per_class_for_the_fractions_is_a_clear_error(tmp_path):
    _tree(tmp_path / "few", {f"{c}/{i}.png": _grey(i) for c in ("a", "b") for i in range(3)})
    with pytest.raises(DataError, match=r"a validation split of 0\.1 of each class is empty .* set "
                                        r"data\.validation_fraction to 0"):
        image_dataset_info(str(tmp_path / "few"), data_dir=str(tmp_path / "cache"))
    with pytest.raises(DataError, match=r"class 'a' keeps no training example"):
        image_dataset_info(str(tmp_path / "few"), data_dir=str(tmp_path / "cache"),
                           folder=FolderOptions(validation_fraction=0.4, test_fraction=0.5))
    with pytest.raises(DataError, match=r"must leave some examples for train"):
        FolderOptions(validation_fraction=0.6, test_fraction=0.6)
    assert image_dataset_info(str(tmp_path / "few"), data_dir=str(tmp_path / "cache"),
                              folder=FolderOptions(validation_fraction=0.34, test_fraction=0)).split_sizes == {
        "train": 4, "validation": 2}


def test_palette_bmp_and_symlinked_subfolders(tmp_path):
    palette = Image.new("P", (4, 4))
    palette.putpalette([200, 10, 10] + [0, 0, 0] * 255)
    root = tmp_path / "art"
    (root / "red").mkdir(parents=True)
    palette.save(root / "red" / "1.bmp")
    _tree(tmp_path / "elsewhere", {"2.png": _grey(5, (4, 4))})
    (root / "grey").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "grey" / "linked")
    os.symlink(root / "grey", root / "grey" / "loop")  # a cycle is read once
    images, labels = dataset_to_numpy(load_image_dataset(str(root), "train", folder=WHOLE))
    assert labels.tolist() == [1, 0]  # 1.bmp, 2.png by file name; classes grey=0, red=1
    np.testing.assert_array_equal(images[0, 0, 0], [200, 10, 10])
    np.testing.assert_array_equal(images[1, 0, 0], [5, 5, 5])
