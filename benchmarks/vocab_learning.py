"""Which WordPiece learner is faster: HuggingFace ``tokenizers`` or keras-hub (TF Text)?

Both learn an uncased vocabulary of the same size from the same sentences (the
``wiki_sample`` train split, read into memory once so that reading is not timed), in
alternation, and the median wall time of each is printed with their ratio.
Usage: python benchmarks/vocab_learning.py [--vocab-size 8192] [--repeats 3] [--data-dir DIR]
"""

import argparse
import statistics
import time

from common import machine, save_result

from kerapre.data.corpus import iter_documents
from kerapre.data.vocab_learning import learn_vocabulary, learn_vocabulary_keras_hub


def timed(learn, documents, vocab_size):
    start = time.perf_counter()
    vocab = learn(documents, vocab_size)
    return time.perf_counter() - start, vocab


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--split", default="train")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true", help="one repeat, vocabulary 2,048 (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.vocab_size = 1, 2048
    documents = list(iter_documents("wiki_sample", args.split, data_dir=args.data_dir))
    sentences = sum(len(d) for d in documents)
    megabytes = sum(len(s.encode("utf-8")) + 1 for d in documents for s in d) / 1e6
    print(f"wiki_sample[{args.split}]: {len(documents)} documents, {sentences:,} sentences, "
          f"{megabytes:.2f} MB; vocab_size={args.vocab_size}")
    learners = {
        "tokenizers (learn_vocabulary)": lambda docs, size: learn_vocabulary(
            docs, size, show_progress=False),
        "keras-hub (learn_vocabulary_keras_hub)": learn_vocabulary_keras_hub,
    }
    seconds = {name: [] for name in learners}
    vocabs = {}
    for _ in range(args.repeats):
        for name, learn in learners.items():
            elapsed, vocabs[name] = timed(learn, documents, args.vocab_size)
            seconds[name].append(elapsed)
    for name, values in seconds.items():
        print(f"{name:40s}: median {statistics.median(values):6.2f} s, {len(vocabs[name]):,} "
              f"tokens (repeats: {', '.join(f'{v:.2f}' for v in values)} s)")
    fast, slow = (statistics.median(v) for v in seconds.values())
    shared = len(set.intersection(*(set(v) for v in vocabs.values())))
    print(f"ratio (keras-hub / tokenizers time): {slow / fast:.1f}; tokens in both: {shared:,}")
    lines = [f"An uncased WordPiece vocabulary of {args.vocab_size:,} tokens from `wiki_sample[{args.split}]` "
             f"({len(documents)} documents, {sentences:,} sentences, {megabytes:.2f} MB, read into memory first), "
             f"{args.repeats} alternated repeats; `python benchmarks/vocab_learning.py`.", "",
             "| learner | median (s) | repeats (s) |", "|---|---|---|"]
    lines += [f"| {name} | {statistics.median(v):.2f} | {', '.join(f'{x:.2f}' for x in v)} |"
              for name, v in seconds.items()]
    lines += ["", f"kerapre (HuggingFace `tokenizers` trainer) is **{slow / fast:.0f}×** faster; "
              f"{shared:,} tokens are in both vocabularies."]
    save_result("vocab_learning", {
        "title": "Vocabulary learning", "markdown": "\n".join(lines), "machine": machine(),
        "seconds": seconds, "shared_tokens": shared,
        "targets": [{"target": "vocabulary learning vs keras-hub's learner", "goal": "≥ 50×",
                     "measured": f"{slow / fast:.0f}×", "met": slow / fast >= 50}]})


if __name__ == "__main__":
    main()
