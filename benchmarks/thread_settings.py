"""Thread and oneDNN settings: TensorFlow's inter-/intra-op thread pools and oneDNN on or off,
one fresh process per setting (they are fixed once TensorFlow starts).

Each child process sets its threads before TensorFlow runs an op, builds one workload, warms
up, and times ``--steps`` steps (every step timed, ``common.step_medians`` with one side):

- ``bert``: kerapre's MLM-only ``BertPretrainer`` at the ``bert_mini`` shape in its default
  precision here (``mixed_bfloat16``), seq 128, batch 32, 20 masked (``bert_pretraining.py``);
- ``cnn``: ``kerapre pretrain cnn``'s defaults (bf16, batch 256, 8 steps per call;
  ``cnn_training.py``): one timed call = 8 steps.

Settings run round-robin, ``--rounds`` times each, so a slow spell of the machine falls on
every setting alike; a setting's figure is the median of all its timed steps.

    python benchmarks/thread_settings.py [--rounds 1] [--bert-steps 15] [--cnn-steps 12] [--quick]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from common import machine, save_result

# name: (inter_op threads, intra_op threads, extra environment); 0 = TensorFlow's choice
# (one per core, so the default is "inter 2, intra 2" on 2 cores).
SETTINGS = {
    "TensorFlow default (0, 0)": (0, 0, {}),
    "inter 1, intra 2": (1, 2, {}),
    "inter 1, intra 1": (1, 1, {}),
    "inter 2, intra 1": (2, 1, {}),
    "default threads, oneDNN off": (0, 0, {"TF_ENABLE_ONEDNN_OPTS": "0"}),
}
DEFAULT = "TensorFlow default (0, 0)"


def child(workload, inter, intra, steps):
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(inter)
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    from common import step_medians

    if workload == "bert":
        from bert_pretraining import kerapre_side

        fit = kerapre_side("mixed_bfloat16", False, False)
    else:
        import cnn_training

        config = cnn_training.kerapre_config()
        fit = cnn_training.kerapre_side(config)
        steps *= config.train.steps_per_execution  # --steps counts timed calls
    timing = step_medians({workload: fit}, rounds=1, steps=steps)[workload]
    print("RESULT " + json.dumps({"median_s": timing["median_s"],
                                  "inter": tf.config.threading.get_inter_op_parallelism_threads(),
                                  "intra": tf.config.threading.get_intra_op_parallelism_threads()}))


def run_child(workload, name, steps):
    inter, intra, env = SETTINGS[name]
    done = subprocess.run(
        [sys.executable, __file__, "--child", workload, "--inter", str(inter), "--intra", str(intra),
         "--steps", str(steps)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env}, capture_output=True, text=True, timeout=900,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{workload} under {name!r} failed:\n{done.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])["median_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--bert-steps", type=int, default=15)
    parser.add_argument("--cnn-steps", type=int, default=12, help="timed calls of 8 steps each")
    parser.add_argument("--quick", action="store_true", help="one round, few steps, two settings")
    parser.add_argument("--child", choices=("bert", "cnn"), help=argparse.SUPPRESS)
    parser.add_argument("--inter", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--intra", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.inter, args.intra, args.steps)

    names = list(SETTINGS)
    steps = {"bert": args.bert_steps, "cnn": args.cnn_steps}
    if args.quick:
        names, args.rounds, steps = names[:2], 1, {"bert": 3, "cnn": 2}
    medians = {(workload, name): [] for workload in steps for name in names}
    for round_ in range(args.rounds):
        for name in names:
            for workload in steps:
                seconds = run_child(workload, name, steps[workload])
                medians[workload, name].append(seconds)
                print(f"round {round_ + 1}: {name:30s} {workload}: {seconds * 1000:8.1f} ms", flush=True)
    save_result("thread_settings", report(medians, names, steps, args))


def report(medians, names, steps, args):
    figure = {key: statistics.median(values) for key, values in medians.items()}
    rows = []
    for name in names:
        rows.append({"setting": name, "inter": SETTINGS[name][0], "intra": SETTINGS[name][1],
                     "env": SETTINGS[name][2],
                     **{f"{w}_ms": figure[w, name] * 1000 for w in steps},
                     **{f"{w}_round_ms": [s * 1000 for s in medians[w, name]] for w in steps},
                     **{f"{w}_vs_default": figure[w, DEFAULT] / figure[w, name] for w in steps}})
    lines = [
        "Script: `benchmarks/thread_settings.py`. One fresh process per setting and workload (TensorFlow fixes "
        "its thread pools when it starts), settings run round-robin "
        f"{args.rounds} time(s); each process warms up and then times {steps['bert']} BERT steps or "
        f"{steps['cnn']} CNN calls of 8 steps; the figure is the median of the per-process medians. "
        "BERT: kerapre's MLM-only pretrainer, `bert_mini` shape, `mixed_bfloat16`, seq 128, batch 32. "
        "CNN: `kerapre pretrain cnn`'s defaults (bf16, batch 256, 8 steps per call). "
        "Speed-up > 1 is faster than TensorFlow's default (one thread per core in both pools).",
        "",
        "| setting | BERT ms/step | BERT vs default | CNN ms per 8 steps | CNN vs default |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['setting']} | {row['bert_ms']:.0f} | {row['bert_vs_default']:.2f}× | "
                     f"{row['cnn_ms']:.0f} | {row['cnn_vs_default']:.2f}× |")
    best = {w: max(rows, key=lambda row: row[f"{w}_vs_default"]) for w in steps}
    notes = [f"Fastest for {w.upper()}: {best[w]['setting']} ({best[w][f'{w}_vs_default']:.2f}× the default)."
             for w in steps]
    if args.quick:
        notes.append("Quick run (`--quick`): one round of a few steps: a smoke test, not a result.")
    lines += ["", *[f"- {note}" for note in notes]]
    return {"title": "Thread and oneDNN settings", "markdown": "\n".join(lines), "targets": [],
            "machine": machine(), "rows": rows,
            "config": {"rounds": args.rounds, "steps": steps, "quick": args.quick}}


if __name__ == "__main__":
    main()
