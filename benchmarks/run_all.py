"""Runs every benchmark, one process each, and writes docs/benchmarks.md from their results.

    pip install -e '.[bench]'          # XProf, for the profile
    python benchmarks/run_all.py       # about 45 minutes on an idle 2-core machine
    python benchmarks/run_all.py --quick --output /tmp/benchmarks.md   # a smoke run (~10 min)
    python benchmarks/run_all.py --render-only                         # re-render from results/*.json

Each benchmark writes ``benchmarks/results/<name>.json`` (``common.save_result``); run them
alone on an otherwise idle machine: they time steps, and another job on the cores shows up in
every number.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from common import RESULTS_DIR, machine

HERE = os.path.dirname(os.path.abspath(__file__))
NOTES = os.path.join(HERE, "NOTES.md")  # hand-written: what was tried, and what the numbers mean
DEFAULT_OUTPUT = os.path.join(HERE, "..", "docs", "benchmarks.md")
# In the order of the page; each is `python benchmarks/<name>.py`.
BENCHMARKS = ["bert_pretraining", "profile_bert_step", "bert_finetuning", "published_finetuning", "cnn_training",
              "profile_cnn_step", "input_pipeline", "user_data", "vocab_learning", "serving_latency", "thread_settings"]


def run(name, quick):
    command = [sys.executable, os.path.join(HERE, f"{name}.py")] + (["--quick"] if quick else [])
    print(f"=== {name}: {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=os.path.join(HERE, ".."))
    return time.perf_counter() - start


def render(names, seconds, quick):
    results = {}
    for name in names:
        path = os.path.join(RESULTS_DIR, f"{name}.json")
        if os.path.exists(path):
            with open(path) as f:
                results[name] = json.load(f)
    facts = next((r["machine"] for r in results.values() if "machine" in r), None) or machine()
    lines = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/run_all.py` (see the [README](../README.md#benchmarks)) from each "
        "benchmark's latest stored result (`benchmarks/results/<name>.json`; `--only` re-runs some of them)"
        + (" in **smoke mode** (`--quick`: too few steps to trust)" if quick else "") + ".",
        "",
        f"Machine: {facts['cpu']}, {facts['cores']} cores, {facts['gpus']} GPUs; Python {facts['python']}, "
        f"TensorFlow {facts['tensorflow']}, Keras {facts['keras']}, keras-hub {facts['keras_hub']}; "
        f"{facts['date']}.",
        "",
        "How timing is done: the wall clocks here stall for 10-20 s now and then outside the training steps, so "
        "the headline figures are per-step medians (timed around each step, after warm-up) with the compared "
        "sides alternated round by round in one process; wall times are given beside them.",
        "",
        "## Targets",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for result in results.values():
        for t in result.get("targets", []):
            lines.append(f"| {t['target']} | {t['goal']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
    if os.path.exists(NOTES):
        with open(NOTES, encoding="utf-8") as f:
            lines += ["", f.read().strip()]
    for name, result in results.items():
        lines += ["", f"## {result.get('title', name)}", "", result.get("markdown", "(no summary)")]
        if name in seconds:
            lines += ["", f"*Benchmark wall time: {seconds[name] / 60:.1f} min.*"]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke-run every benchmark")
    parser.add_argument("--only", default=None, help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--render-only", action="store_true", help="only re-render the page from results/*.json")
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    names = args.only.split(",") if args.only else BENCHMARKS
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}: choose from {', '.join(BENCHMARKS)}")
    record = os.path.join(RESULTS_DIR, "run_all.json")  # wall times and mode of the last run
    seconds, quick = {}, args.quick
    if args.render_only and os.path.exists(record):
        with open(record) as f:
            last = json.load(f)
        seconds, quick = last["seconds"], last["quick"]
    if not args.render_only:
        for name in names:
            seconds[name] = run(name, args.quick)
        os.makedirs(RESULTS_DIR, exist_ok=True)
        with open(record, "w") as f:
            json.dump({"seconds": seconds, "quick": args.quick}, f)
    page = render(BENCHMARKS, seconds, quick)
    with open(args.output + ".tmp", "w") as f:
        f.write(page)
    os.replace(args.output + ".tmp", args.output)
    print(f"wrote {os.path.relpath(args.output)}")


if __name__ == "__main__":
    main()
