"""The ``kerapre`` command line: a thin layer over the Python API.

Every command takes ``--config FILE.yaml`` and repeatable ``--set key=value`` overrides
and works with no flags at all; bad input ends with one ``kerapre: error: ...`` line.
"""

import argparse
import os
import sys

from kerapre.config.user_data import EVALUATE_DATA_KEYS as EVALUATE_KEYS
from kerapre.errors import ConfigError, KerapreError

from kerapre.config.paths import (
    BERT_PRETRAIN_DIR as DEFAULT_BERT_DIR,
    CNN_FINETUNE_DIR as DEFAULT_FINETUNE_DIR,
    CNN_PRETRAIN_DIR as DEFAULT_PRETRAIN_DIR,
    EXPORT_DIR as DEFAULT_EXPORT_DIR,
    QUICKSTART_DIR,
    SSL_PRETRAIN_DIRS as DEFAULT_SSL_DIRS,
    TEXT_EXPORT as DEFAULT_TEXT_EXPORT,
    TEXT_FINETUNE_DIR as DEFAULT_TEXT_DIR,
)


def _add_config_flags(parser, model_dir=None):
    if model_dir is not None:
        parser.add_argument("--model-dir", default=model_dir, help=f"where the run writes (default: {model_dir})")
    parser.add_argument("--config", help="a YAML config file (see docs/cli.md)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one config value, e.g. --set train.epochs=3 (repeatable)",
    )


def _add_freeze_flags(parser, what, trainable_by_default):
    """``--freeze`` / ``--no-freeze`` (``args.trainable``: None when neither is given, so the
    config's ``trainable`` decides)."""
    freeze = parser.add_mutually_exclusive_group()
    freeze.add_argument("--freeze", dest="trainable", action="store_false", default=None,
                        help=f"keep the {what} weights fixed" + ("" if trainable_by_default else " (default)"))
    freeze.add_argument("--no-freeze", dest="trainable", action="store_true",
                        help=f"fine-tune the {what} weights too" + (" (default)" if trainable_by_default else ""))


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kerapre",
        description="Pretrain a backbone, export it, reload it frozen or trainable, fine-tune it.",
    )
    from kerapre import __version__

    parser.add_argument("--version", action="version", version=f"kerapre {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pretrain = commands.add_parser("pretrain", help="pretrain a backbone")
    pretrain_kinds = pretrain.add_subparsers(dest="kind", required=True, metavar="KIND")
    cnn = pretrain_kinds.add_parser(
        "cnn", help="supervised CNN pretraining on a source task (default: Fashion-MNIST)"
    )
    _add_config_flags(cnn, DEFAULT_PRETRAIN_DIR)
    for method, what in (("simclr", "contrastive (SimCLR)"), ("rotation", "rotation-prediction")):
        ssl = pretrain_kinds.add_parser(
            method, help=f"self-supervised {what} CNN pretraining on unlabelled images (default: Fashion-MNIST)"
        )
        _add_config_flags(ssl, DEFAULT_SSL_DIRS[method])
    bert = pretrain_kinds.add_parser(
        "bert", help="masked-LM + next-sentence pretraining of a BERT encoder (default: bert_tiny on wiki_sample)"
    )
    bert.add_argument("--preset", help="bert_tiny, bert_mini, bert_small, bert_medium or bert_base (model.preset)")
    bert.add_argument("--corpus", help="wiki_sample, a TFDS name, or BERT-format text files/glob/dir (data.corpus)")
    bert.add_argument("--steps", type=int, help="optimizer steps (train.steps)")
    bert.add_argument("--vocab", help="an existing vocab.txt instead of learning one (data.vocab)")
    bert.add_argument("--init", help="continue from a published encoder (minilm_l6, a Hugging Face or Google BERT "
                                     "directory, a keras-hub preset) or a kerapre BERT run (model.init)")
    _add_config_flags(bert, DEFAULT_BERT_DIR)

    finetune = commands.add_parser("finetune", help="fine-tune a pretrained backbone with a new head")
    finetune_kinds = finetune.add_subparsers(dest="kind", required=True, metavar="KIND")
    image = finetune_kinds.add_parser("image", help="image classification (default: MNIST-5k, 20 labels/class)")
    image.add_argument(
        "--backbone",
        help="an export, .keras file or run directory, or 'scratch' "
        f"(default: auto, the latest {DEFAULT_EXPORT_DIR}/cnn_pretrain-backbone export, else {DEFAULT_PRETRAIN_DIR})",
    )
    _add_freeze_flags(image, "backbone", trainable_by_default=False)
    _add_config_flags(image, DEFAULT_FINETUNE_DIR)

    text = finetune_kinds.add_parser(
        "text", help="text classification on a pretrained BERT encoder (default: Rotten Tomatoes)"
    )
    text.add_argument("--backbone", help="a BERT pretraining run, a .keras or TF Hub export, a checkpoint, a published "
                                         "encoder (minilm_l6, a Hugging Face or Google BERT directory, a keras-hub "
                                         f"preset), or 'scratch' (default: {DEFAULT_BERT_DIR})")
    _add_freeze_flags(text, "encoder", trainable_by_default=True)
    _add_config_flags(text, DEFAULT_TEXT_DIR)

    exp = commands.add_parser("export", help="export a trained run for TF Serving, TF Hub, reuse and Keras")
    exp.add_argument("--model-dir", default=DEFAULT_PRETRAIN_DIR,
                     help=f"the run to export: CNN, BERT pretraining or fine-tuning (default: {DEFAULT_PRETRAIN_DIR})")
    exp.add_argument("--output", default=DEFAULT_EXPORT_DIR, help=f"base export directory (default: {DEFAULT_EXPORT_DIR})")
    exp.add_argument("--name", help="model name (default: the run directory's name)")
    exp.add_argument("--format", dest="formats", action="append", choices=("serving", "backbone", "hub", "keras"),
                     help="what to write (repeatable; default: every format the model has: serving, backbone, "
                          "keras for images; serving, hub, keras for text classifiers; hub, keras for BERT runs)")
    exp.add_argument("--version", type=int, help="version number (default: the next free one)")
    exp.add_argument("--overwrite", action="store_true", help="replace an existing --version")
    exp.add_argument("--cut", help="the layer where the exported backbone ends (default: the model's cut)")

    ev = commands.add_parser("evaluate", help="accuracy of a run, .keras file or serving export on a data set")
    ev.add_argument("--model", default=DEFAULT_FINETUNE_DIR,
                    help=f"run directory, .keras file or serving export (default: {DEFAULT_FINETUNE_DIR})")
    ev.add_argument("--data", help="data set name, image folder or table (default: the run's own data, else "
                                   "mnist_5k or rotten_tomatoes)")
    ev.add_argument("--split", default=None, help="split to evaluate (default: the run's test split, else test)")
    ev.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="how a folder or table is read, e.g. --set text_column=body or --set resize=true "
                         "(keys: " + ", ".join(EVALUATE_KEYS) + "; default: the run's own)")

    pr = commands.add_parser("predict", help="classify raw text, or image files, with a classifier export or run")
    pr.add_argument("texts", nargs="*", metavar="TEXT",
                    help="texts to classify (none: one per line from stdin), or image files for an image model")
    pr.add_argument("--resize", action="store_true", help="image models: resize images of another size to the model's")
    pr.add_argument("--model", default=DEFAULT_TEXT_EXPORT,
                    help=f"a text classifier's serving or .keras export, or a finetune text run "
                         f"(default: {DEFAULT_TEXT_EXPORT}, the quickstart's export)")
    pr.add_argument("--second", action="append", metavar="TEXT",
                    help="pair models: the second text of each pair, in order (repeatable)")
    pr.add_argument("--json", action="store_true", help="print one JSON object per text")

    report = commands.add_parser("report", help="label-efficiency report: what a pretrained backbone buys at "
                                                 "1, 5, 20, 100 labels per class and all")
    report_kinds = report.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, what, example in (
        ("image", "CNN backbones on MNIST-5k (default)", "simclr=runs/simclr_pretrain"),
        ("text", "BERT encoders on Rotten Tomatoes (default)", "pretrained=runs/bert_pretrain"),
    ):
        parser_ = report_kinds.add_parser(kind, help=what)
        parser_.add_argument("--backbone", dest="backbones", action="append", metavar="NAME=PATH",
                             help=f"a pretrained backbone to compare, e.g. {example} (repeatable; "
                                  "replaces the config's backbones)")
        parser_.add_argument("--output", default=os.path.join("runs", f"report_{kind}"),
                             help=f"where the CSV, PNG and Markdown go (default: runs/report_{kind})")
        _add_config_flags(parser_)
    launch = commands.add_parser(
        "launch", help="run a command as the workers of a multi-worker cluster on this machine (TF_CONFIG each)"
    )
    launch.add_argument("--workers", type=int, default=2, help="how many worker processes (default: 2)")
    launch.add_argument("worker_command", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                        help="the worker program, e.g. -- kerapre pretrain cnn --set train.strategy=multi_worker_mirrored")

    quick = commands.add_parser("quickstart", help="the whole path on bundled real data, no arguments needed")
    quick.add_argument("--stage", action="append", choices=("cnn", "bert", "report"),
                       help="run only this stage (repeatable)")
    quick.add_argument("--full-report", action="store_true",
                       help="the report stage runs the full label-efficiency report (report.full=true)")
    quick.add_argument("--output", default=QUICKSTART_DIR, help="where runs and reports go")
    quick.add_argument("--export-dir", default=DEFAULT_EXPORT_DIR, help="where exports go")
    _add_config_flags(quick)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KerapreError as error:
        print(f"kerapre: error: {error}", file=sys.stderr)
        return 2


def _dispatch(args):
    from kerapre import config as cfg

    if args.command == "pretrain" and args.kind == "bert":
        return _pretrain_bert(args)
    if args.command == "pretrain" and args.kind in DEFAULT_SSL_DIRS:
        return _pretrain_ssl(args)
    if args.command == "pretrain":
        from kerapre.workflows.pretrain_cnn import pretrain_cnn

        config = cfg.load_config(cfg.CNNPretrainConfig, args.config, args.overrides)
        run = pretrain_cnn(config, model_dir=args.model_dir)
        print(f"pretrained {config.model.preset} on {config.data.name}: "
              f"val accuracy {run.history.get('val_accuracy', [float('nan')])[-1]:.4f}; run in {args.model_dir}")
        print(f"next: kerapre export --model-dir {args.model_dir}")
        return 0
    if args.command == "finetune" and args.kind == "text":
        return _finetune_text(args)
    if args.command == "finetune":
        from kerapre.workflows.finetune_image import finetune_image

        config = cfg.load_config(cfg.FinetuneConfig, args.config, _backbone_overrides(args))
        result = finetune_image(config, model_dir=args.model_dir)
        print(f"fine-tuned on {result.train_examples} labelled examples: "
              f"test accuracy {result.test_accuracy:.4f}; run in {args.model_dir}")
        return 0
    if args.command == "export":
        return _export(args)
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command == "predict":
        return _predict(args)
    if args.command == "report":
        return _report(args)
    if args.command == "launch":
        from kerapre.launch import launch

        command = args.worker_command[1:] if args.worker_command[:1] == ["--"] else args.worker_command
        return launch(command, workers=args.workers)
    if args.command == "quickstart":
        from kerapre.workflows.quickstart import STAGES, quickstart

        overrides = [*args.overrides, "report.full=true"] if args.full_report else args.overrides
        config = cfg.load_config(cfg.QuickstartConfig, args.config, overrides)
        times = quickstart(config, stages=args.stage or STAGES, output_dir=args.output, export_dir=args.export_dir)
        print("quickstart done: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in times.items()))
        return 0
    raise AssertionError(args.command)


def _pretrain_bert(args):
    from kerapre import config as cfg
    from kerapre.workflows.pretrain_bert import pretrain_bert

    flags = {"preset": "model.preset", "corpus": "data.corpus", "steps": "train.steps",
             "vocab": "data.vocab", "init": "model.init"}
    overrides = list(args.overrides)
    overrides += [f"{key}={getattr(args, flag)}" for flag, key in flags.items() if getattr(args, flag) is not None]
    config = cfg.load_config(cfg.BertPretrainConfig, args.config, overrides)
    pretrain_bert(config, model_dir=args.model_dir)
    what = config.model.init or config.model.preset
    print(f"pretrained {what} on {config.data.corpus}; run in {args.model_dir}")
    return 0


def _pretrain_ssl(args):
    from kerapre import config as cfg
    from kerapre.workflows.pretrain_ssl import pretrain_ssl

    # The sub-command names the method, whatever --config or --set say.
    config = cfg.load_config(cfg.SSLPretrainConfig, args.config, [*args.overrides, f"method={args.kind}"])
    run = pretrain_ssl(config, model_dir=args.model_dir)
    losses = run.history["loss"]
    loss = f"{losses[0]:.4f} -> {losses[-1]:.4f}" if len(losses) > 1 else f"{losses[0]:.4f}"
    print(f"pretrained {config.model.preset} with {config.method} on {run.images} unlabelled images of "
          f"{config.data.name}[{config.data.split}]: loss {loss}; run in {args.model_dir}")
    print(f"next: kerapre export --model-dir {args.model_dir} --format backbone --format keras")
    return 0


def _finetune_text(args):
    from kerapre import config as cfg
    from kerapre.workflows.finetune_text import finetune_text

    config = cfg.load_config(cfg.FinetuneTextConfig, args.config, _backbone_overrides(args))
    result = finetune_text(config, model_dir=args.model_dir)
    scores = [f"{name} accuracy {value:.4f}" for name, value in (("validation", result.validation_accuracy),
                                                                   ("test", result.test_accuracy)) if value is not None]
    majority = f" (majority class {result.test_majority_rate:.4f})" if result.test_majority_rate is not None else ""
    print(f"fine-tuned on {result.train_examples} labelled examples: {', '.join(scores) or 'no split evaluated'}"
          f"{majority}; run in {args.model_dir}")
    return 0


def _report(args):
    from kerapre import config as cfg
    from kerapre.report.label_efficiency import label_efficiency

    config_class = cfg.ImageReportConfig if args.kind == "image" else cfg.TextReportConfig
    config = cfg.load_config(config_class, args.config, args.overrides)
    if args.backbones:  # set as given: a path is not parsed as YAML
        config.backbones = list(args.backbones)
    label_efficiency(config, output_dir=args.output)  # validates the config first
    return 0


def _backbone_overrides(args):
    """``--set`` overrides plus those of ``--backbone`` and ``--freeze`` / ``--no-freeze``."""
    overrides = list(args.overrides)
    if args.backbone:
        overrides.append(f"backbone={args.backbone}")
    if args.trainable is not None:
        overrides.append(f"trainable={str(args.trainable).lower()}")
    return overrides


def _export(args):
    from kerapre.export import KIND_FORMATS, export, exportable_formats, model_kind

    model, options = _exportable(args.model_dir)
    name = args.name or os.path.basename(os.path.normpath(args.model_dir))
    formats = args.formats
    left_out = [fmt for fmt in KIND_FORMATS[model_kind(model)] if fmt not in exportable_formats(model)]
    if not formats and left_out:
        print(f"note: no {'/'.join(left_out)} export for a model on a SavedModel backbone")
    paths = export(
        model,
        name,
        formats=tuple(formats) if formats else None,
        base_dir=args.output,
        version=args.version,
        overwrite=args.overwrite,
        cut=args.cut,
        **options,
    )
    for fmt, path in paths.items():
        print(f"{fmt:9s} {path}")
    return 0


def _exportable(model_dir):
    """The model of a run and the ``export`` keyword arguments that go with it."""
    from kerapre.export.resolve import resolve

    hint = "pass --model-dir of a training run"
    artifact = resolve(model_dir, hint=hint).expect(("run",), "a training run", hint)
    record = artifact.record
    provenance = {"run": os.path.abspath(model_dir)}
    for key in ("task", "data", "data_license", "data_homepage", "corpus", "backbone", "trainable",
                "train_examples", "validation_accuracy", "test_accuracy", "test_majority_rate"):
        if record is not None and getattr(record, key) is not None:
            provenance[key] = getattr(record, key)
    if record is not None and record.task == "finetune_text":
        from kerapre.export.runs import load_text_run

        model, _, record = load_text_run(model_dir)
        return model, {"label_names": record.label_names, "pair": record.pair, "metadata": provenance}
    if record is not None and record.task == "bert_pretrain":
        import keras

        from kerapre.data.text_preprocessor import BertTextPreprocessor
        from kerapre.run_record import PRETRAINER_FILE

        pretrainer = keras.saving.load_model(artifact.file(PRETRAINER_FILE), compile=False)
        # The casing the run's vocabulary was learned with (records before it was recorded: uncased).
        lowercase = True if record.lowercase is None else record.lowercase
        preprocessor = BertTextPreprocessor(artifact.file("vocab.txt"),
                                            sequence_length=record.config["data"]["seq_length"], lowercase=lowercase)
        return pretrainer, {"preprocessor": preprocessor, "metadata": provenance}
    from kerapre.export.runs import load_image_run

    return load_image_run(model_dir), {"label_names": artifact.label_names, "metadata": provenance}


def _predict(args):
    import json

    from kerapre.export.classifiers import is_text_classifier
    from kerapre.workflows.predict import predict_images, predict_text

    texts = args.texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not is_text_classifier(args.model):
        for result in predict_images(args.model, texts, resize=args.resize):
            if args.json:
                print(json.dumps(result, ensure_ascii=False))
            else:
                print(f"{result['label']}\t{result['probabilities'][result['label']]:.4f}\t{result['file']}")
        return 0
    for result in predict_text(args.model, texts, second=args.second):
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            confidence = result["probabilities"][result["label"]]
            print(f"{result['label']}\t{confidence:.4f}\t{result['text']}")
    return 0


def _evaluate(args):
    import yaml

    from kerapre.workflows.evaluate import evaluate

    options = {}
    for item in args.overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r} is not KEY=VALUE (e.g. --set text_column=body)")
        options[key.strip().removeprefix("data.")] = yaml.safe_load(raw) if raw.strip() else None
    result = evaluate(args.model, data=args.data, split=args.split, options=options)
    print(f"{result['model']} on {result['data']}[{result['split']}]: "
          f"accuracy {result['accuracy']:.4f} over {result['examples']} examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
