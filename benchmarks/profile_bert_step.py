"""A TensorBoard profile of kerapre's BERT pretraining step, and its top costs by op type.

Builds the ``bert_pretraining.py`` setup (bert_mini shape, seq 128, batch 32, 20 masked
positions) for one side, trains a few warm-up steps, then records ``--steps`` steps with
``tf.profiler``. The profile is written under ``--logdir`` (open it with ``tensorboard
--logdir <logdir>`` → Profile) and summarised with XProf's ``framework_op_stats`` tool: host
self-time by TensorFlow op type, with the share of the total.

Needs ``pip install -e '.[bench]'`` (XProf).

    python benchmarks/profile_bert_step.py [--side "kerapre mlm bf16"] [--steps 3]

The CNN sides (``cnn_training.py``'s) are profiled the same way into another result
(``profile_cnn_step.py`` runs the first):

    python benchmarks/profile_bert_step.py --side "cnn kerapre defaults" --steps 64 --name profile_cnn_step
"""

import argparse
import collections
import glob
import json
import os
import tempfile

from bert_pretraining import keras_hub_side, kerapre_side
from common import save_result


def cnn_side(recipe):
    """``cnn_training.py``'s kerapre defaults (8 steps per call, so profile a multiple of 8
    steps), or the Keras-tutorial recipe on the Fashion-MNIST arrays (batch 32)."""
    import cnn_training

    if recipe:
        x_train, y_train, _, _ = cnn_training.load_arrays()
        return cnn_training.recipe_side(x_train, y_train)
    return cnn_training.kerapre_side(cnn_training.kerapre_config())


SIDES = {
    "kerapre mlm bf16": lambda: kerapre_side("mixed_bfloat16", False, False),
    "kerapre mlm+nsp bf16": lambda: kerapre_side("mixed_bfloat16", False, True),
    "kerapre mlm fp32": lambda: kerapre_side("float32", False, False),
    "keras_hub bf16": lambda: keras_hub_side("mixed_bfloat16", False),
    "cnn kerapre defaults": lambda: cnn_side(False),
    "cnn recipe": lambda: cnn_side(True),
}


def op_type_self_times(logdir):
    """``{op type: self-time µs}`` over the host ops of the newest profile in ``logdir``."""
    from xprof.convert import raw_to_tool_data

    xspace = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))[-1]
    data, _ = raw_to_tool_data.xspace_to_tool_data([xspace], "framework_op_stats", {})
    tables = json.loads(data)
    table = tables[0] if isinstance(tables, list) else tables
    columns = [c["id"] for c in table["cols"]]
    totals = collections.Counter()
    for row in table["rows"]:
        values = dict(zip(columns, (cell["v"] for cell in row["c"])))
        if values.get("host_or_device", "Host") == "Host" and values["type"] != "IDLE":
            totals[values["type"]] += float(values["total_self_time"])
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", default="kerapre mlm bf16", choices=sorted(SIDES))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--logdir", default=None, help="where the profile goes (default: a temporary dir)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="one profiled step")
    parser.add_argument("--name", default="profile_bert_step", help="the result's name (results/<name>.json)")
    args = parser.parse_args()
    if args.quick:
        args.steps = 1

    import tensorflow as tf

    fit = SIDES[args.side]()
    fit(5)  # warm-up: tracing and caches stay out of the profile
    logdir = args.logdir or tempfile.mkdtemp(prefix="kerapre_profile_")
    tf.profiler.experimental.start(logdir)
    seconds = fit(args.steps)
    tf.profiler.experimental.stop()
    totals = op_type_self_times(logdir)
    whole = sum(totals.values())
    top = [{"op_type": op, "self_ms_per_step": us / 1000 / args.steps, "share": us / whole}
           for op, us in totals.most_common(args.top)]
    print(f"{args.side}: {args.steps} profiled steps, {sum(seconds) / args.steps * 1000:.0f} ms/step "
          f"wall; profile in {logdir}")
    for row in top:
        print(f"  {row['op_type']:32s} {row['self_ms_per_step']:8.1f} ms/step  {row['share']:6.1%}")
    cnn = args.side.startswith("cnn")
    setup = "the `cnn_training.py` set-up" if cnn else "the `bert_pretraining.py` shape"
    lines = [f"`{args.side}` at {setup}, {args.steps} steps recorded with `tf.profiler` after 5 "
             f"warm-up steps ({sum(seconds) / args.steps * 1000:.0f} ms/step wall while profiling), summarised by "
             "XProf's `framework_op_stats`: host self-time by TensorFlow op type, summed over both cores' threads "
             f"({whole / 1000 / args.steps:.0f} ms per step in all); `python benchmarks/profile_bert_step.py "
             "--logdir DIR` keeps the profile for TensorBoard.", "",
             "| op type | self-time per step (ms) | share |", "|---|---|---|"]
    lines += [f"| `{row['op_type']}` | {row['self_ms_per_step']:.1f} | {row['share']:.1%} |" for row in top]
    title = "Profile of one CNN training step" if cnn else "Profile of one BERT pretraining step"
    save_result(args.name, {"title": title, "markdown": "\n".join(lines), "targets": [], "side": args.side,
                            "steps": args.steps, "step_ms": [s * 1000 for s in seconds],
                            "host_self_ms_per_step": whole / 1000 / args.steps, "top": top})


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
