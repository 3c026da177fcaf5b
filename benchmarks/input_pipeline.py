"""Text pretraining input: kerapre's pair + mask pipeline vs the BERT training step that consumes it.

The stream is built as ``kerapre.pretrain_bert`` builds it, on the bundled ``wiki_sample``
corpus (Wikipedia articles, train split) with ``BertPretrainConfig``'s defaults (sequence
length 128, batch 32, 20 masked positions, ``dupe_factor`` 5, a learned 8,192-token
WordPiece vocabulary):

1. prepare, once: ``write_pretraining_records`` (``iter_documents`` → tokenise → ``create_pairs``
   → sharded TFRecords);
2. training stream, what ``fit`` reads: ``training_dataset`` (TFRecords → parse → shuffle
   20,000 → repeat → batch → ``PretrainingMasker`` → prefetch);
3. for comparison, pairs made on the fly from the raw text: ``pairs_dataset`` → batch → mask.

Rates: examples/s of a stream = examples pulled in a round / the round's wall time (rounds of
many batches after warm-up, so the prefetch buffer is a few percent of a round); the training
step's rate = batch / the per-step median of a short ``fit`` of the workflow's own pretrainer
(``bert_tiny``, MLM + NSP, the precision ``auto`` picks, AdamW with the warm-up schedule) on
cached batches of the same stream. Streams and step alternate round by round.

Memory: a subprocess per corpus size runs steps 1 and 2 over the corpus repeated 1× and 10×
(the documents written once as a text file in BERT format and passed ``N`` times, so they
stream through ``iter_documents``) and one full pass of the training stream, and reports its
peak RSS (``VmHWM``) after the imports, after the pairs are written and after the pass.

    python benchmarks/input_pipeline.py [--rounds 3] [--batches 150] [--steps 20] [--quick]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import keras_step_fit, machine, save_result

TARGET_RATIO = 10.0
CORPUS = "wiki_sample"
SCALES = (1, 10, 30)  # the target compares 1× and 10×; 30× is past one 1,000-document chunk


def peak_rss_mb():
    """This process's peak resident memory (``VmHWM``). Not ``ru_maxrss``: a child's starts at
    its parent's size at the fork."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def bert_config(dupe_factor=None):
    """``BertPretrainConfig``'s defaults on ``CORPUS`` (and ``dupe_factor`` if given)."""
    from kerapre.config import BertPretrainConfig

    config = BertPretrainConfig()
    config.data.corpus = CORPUS
    if dupe_factor:
        config.data.dupe_factor = dupe_factor
    config.train.verbose = 0
    return config


def learn_vocab(config, directory):
    from kerapre.data.vocab import load_vocabulary
    from kerapre.data.vocab_learning import learn_vocabulary

    path = os.path.join(directory, "vocab.txt")
    learn_vocabulary(config.data.corpus, config.data.vocab_size, split=config.data.train_split, output_path=path,
                     show_progress=False)
    return path, load_vocabulary(path)


def masker_of(config, vocab):
    from kerapre.data.masking import PretrainingMasker

    data = config.data
    return PretrainingMasker(vocab, max_predictions=data.max_predictions, rate=data.mask_rate,
                             whole_word=data.whole_word_masking, next_sentence=config.model.next_sentence)


def write_records(config, corpus, vocab_path, output_dir):
    from kerapre.data.pair_records import write_pretraining_records

    data = config.data
    return write_pretraining_records(corpus, vocab_path, output_dir, split=data.train_split,
                                     seq_length=data.seq_length, dupe_factor=data.dupe_factor,
                                     short_seq_prob=data.short_seq_prob, seed=config.train.seed, show_progress=False)


def training_stream(config, records, masker):
    from kerapre.workflows.pretrain_bert import training_dataset

    return training_dataset([records], masker, config.data.batch_size, config.train.seed, config.data.seq_length)


def on_the_fly_stream(config, vocab, masker):
    from kerapre.data.corpus import iter_documents
    from kerapre.data.pretraining_pairs import pairs_dataset

    data = config.data
    pairs = pairs_dataset(iter_documents(data.corpus, data.train_split), vocab, seq_length=data.seq_length,
                          short_seq_prob=data.short_seq_prob, dupe_factor=data.dupe_factor, seed=config.train.seed)
    return pairs.repeat().batch(data.batch_size, drop_remainder=True).map(masker).prefetch(-1)


def pull(iterator, batches):
    """Wall seconds to pull ``batches`` batches."""
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return time.perf_counter() - start


def step_side(config, vocabulary_size, batches):
    """A ``fit(steps)`` of the workflow's pretrainer, compiled as ``pretrain_bert`` compiles it."""
    import keras

    from kerapre.distribute import set_precision
    from kerapre.training import WarmupLinearDecay, make_optimizer
    from kerapre.export.encoders import build_pretrainer

    train = config.train
    keras.utils.set_random_seed(train.seed)
    precision = set_precision(train.precision)
    pretrainer = build_pretrainer(config, vocabulary_size)
    schedule = WarmupLinearDecay(train.learning_rate, train.steps, train.steps // 10)
    pretrainer.compile(optimizer=make_optimizer(train, schedule), jit_compile=train.jit_compile,
                       steps_per_execution=train.steps_per_execution)
    keras.mixed_precision.set_dtype_policy("float32")
    return keras_step_fit(pretrainer, batches.cache().repeat()), precision


def memory_child(args):
    """Runs in a subprocess: write the pairs of the corpus file ``--scale`` times over, then one
    full pass of the training stream; prints peak RSS at each stage as JSON."""
    config = bert_config(args.dupe_factor)
    from kerapre.data.vocab import load_vocabulary

    report = {"scale": args.scale, "after_imports_mb": peak_rss_mb()}
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        info = write_records(config, [args.corpus_file] * args.scale, args.vocab, os.path.join(directory, "pairs"))
        report.update(pairs=info.count, documents=info.stats["documents"], write_s=time.perf_counter() - start,
                      after_write_mb=peak_rss_mb())
        stream = training_stream(config, info.output_dir, masker_of(config, load_vocabulary(args.vocab)))
        batches = info.count // config.data.batch_size
        start = time.perf_counter()
        for _ in stream.take(batches):
            pass
        report.update(streamed_examples=batches * config.data.batch_size, stream_s=time.perf_counter() - start,
                      after_stream_mb=peak_rss_mb())
    print("MEMORY " + json.dumps(report), flush=True)


def write_corpus_file(config, path):
    """The corpus's documents as a BERT-format text file: one sentence per line, a blank line between documents."""
    from kerapre.data.corpus import iter_documents

    with open(path, "w", encoding="utf-8") as f:
        for sentences in iter_documents(config.data.corpus, config.data.train_split):
            f.write("\n".join(sentences) + "\n\n")


def measure_memory(config, vocab_path, directory, scales):
    corpus_file = os.path.join(directory, "corpus.txt")
    write_corpus_file(config, corpus_file)
    results = []
    for scale in scales:
        command = [sys.executable, os.path.abspath(__file__), "--memory-child", "--scale", str(scale),
                   "--corpus-file", corpus_file, "--vocab", vocab_path, "--dupe-factor", str(config.data.dupe_factor)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
        line = next(line for line in output.splitlines() if line.startswith("MEMORY "))
        results.append(json.loads(line[len("MEMORY "):]))
        print(f"memory {scale:3d}×: {results[-1]}")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=150, help="batches pulled from each stream per round")
    parser.add_argument("--steps", type=int, default=20, help="training steps per round")
    parser.add_argument("--quick", action="store_true", help="dupe_factor 1, one short round (a smoke run)")
    parser.add_argument("--scales", default=",".join(map(str, SCALES)),
                        help="corpus repetitions of the memory runs (first = the baseline)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--corpus-file", help=argparse.SUPPRESS)
    parser.add_argument("--vocab", help=argparse.SUPPRESS)
    parser.add_argument("--dupe-factor", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args)
    if args.quick:
        args.rounds, args.batches, args.steps = 1, 40, 6
    config = bert_config(1 if args.quick else None)

    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        vocab_path, vocab = learn_vocab(config, directory)
        vocab_s = time.perf_counter() - start
        start = time.perf_counter()
        info = write_records(config, config.data.corpus, vocab_path, os.path.join(directory, "pairs"))
        write_s = time.perf_counter() - start
        print(f"vocabulary {len(vocab)} tokens in {vocab_s:.1f} s; {info.count} pairs written in {write_s:.1f} s "
              f"({info.count / write_s:,.0f} pairs/s)")
        masker = masker_of(config, vocab)
        streams = {"training stream (TFRecords + masking)": iter(training_stream(config, info.output_dir, masker)),
                   "pairs on the fly (raw text + masking)": iter(on_the_fly_stream(config, vocab, masker))}
        fit, precision = step_side(config, len(vocab), training_stream(config, info.output_dir, masker).take(8))
        for iterator in streams.values():
            pull(iterator, 10)  # warm-up: traces, fills the shuffle buffer
        fit(3)
        rates = {name: [] for name in streams}
        step_times = []
        for _ in range(args.rounds):
            for name, iterator in streams.items():
                rates[name].append(args.batches * config.data.batch_size / pull(iterator, args.batches))
            step_times.extend(fit(args.steps)[1:])
        step_rate = config.data.batch_size / statistics.median(step_times)
        rows = [{"side": name, "examples_per_s": statistics.median(r), "round_rates": r,
                 "ratio_to_step": statistics.median(r) / step_rate} for name, r in rates.items()]
        rows.append({"side": f"training step (bert_tiny, {precision})", "examples_per_s": step_rate,
                     "median_step_s": statistics.median(step_times), "ratio_to_step": 1.0})
        for row in rows:
            print(f"{row['side']:40s} {row['examples_per_s']:9,.0f} examples/s  ({row['ratio_to_step']:.1f}× the step)")
        scales = [int(scale) for scale in args.scales.split(",")]
        memory = [] if args.no_memory else measure_memory(config, vocab_path, directory, scales)

    save_result("input_pipeline", report(rows, memory, info, write_s, vocab_s, config, args))


def report(rows, memory, info, write_s, vocab_s, config, args):
    stream, on_the_fly, step = rows
    targets = [{"target": "Text pretraining input: training stream vs the training step's consumption",
                "goal": f"≥ {TARGET_RATIO:g}× the step's examples/s",
                "measured": f"{stream['ratio_to_step']:.1f}× ({stream['examples_per_s']:,.0f} vs "
                            f"{step['examples_per_s']:,.0f} examples/s)",
                "met": stream["ratio_to_step"] >= TARGET_RATIO}]
    lines = [
        "Script: `benchmarks/input_pipeline.py` (`python benchmarks/input_pipeline.py`). The pipeline as "
        f"`kerapre.pretrain_bert` builds it on `{CORPUS}` (train split) with `BertPretrainConfig`'s defaults: "
        f"sequence length {config.data.seq_length}, batch {config.data.batch_size}, "
        f"{config.data.max_predictions} masked positions, dupe_factor {config.data.dupe_factor}, a learned "
        f"{config.data.vocab_size}-token vocabulary. Pairs are written once (`write_pretraining_records`), "
        "then training reads `training_dataset`: TFRecords → parse → shuffle → repeat → batch → "
        "`PretrainingMasker` → prefetch. Pairs made on the fly from the raw text (`pairs_dataset` → batch "
        "→ mask) are shown for comparison.",
        "",
        f"Stream rates: examples per round / the round's wall time ({args.rounds} rounds × {args.batches} "
        f"batches, after warm-up). Step: the per-step median of {args.rounds} × {args.steps} steps of the "
        "workflow's own `bert_tiny` pretrainer (MLM + NSP) on cached batches of the same stream; streams and "
        "step alternate round by round.",
        "",
        "| side | examples/s | × the step |",
        "|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['side']} | {row['examples_per_s']:,.0f} | {row['ratio_to_step']:.1f}× |")
    lines += ["", f"One-time preparation: vocabulary learned in {vocab_s:.1f} s; {info.count:,} pairs written in "
              f"{write_s:.1f} s ({info.count / write_s:,.0f} pairs/s)."]
    if memory:
        lines += [
            "",
            "Peak RSS of a subprocess that writes the pairs of the corpus repeated N× (as a text file passed "
            "N times to `write_pretraining_records`) and streams one full pass of the training stream:",
            "",
            "| corpus | documents | pairs | peak after imports | after writing pairs | after a full pass |",
            "|---|---|---|---|---|---|",
        ]
        for m in memory:
            lines.append(f"| {m['scale']}× | {m['documents']:,} | {m['pairs']:,} | {m['after_imports_mb']:.0f} MB | "
                         f"{m['after_write_mb']:.0f} MB | {m['after_stream_mb']:.0f} MB |")
        first = memory[0]
        last = next((m for m in memory if m["scale"] == 10), memory[-1])
        growth = last["after_stream_mb"] - first["after_stream_mb"]
        flat = growth <= 0.1 * first["after_stream_mb"]
        targets.append({"target": f"Text pretraining input: peak memory flat as the corpus grows {last['scale']}×",
                        "goal": "flat (within 10%)",
                        "measured": f"{first['after_stream_mb']:.0f} MB → {last['after_stream_mb']:.0f} MB "
                                    f"({growth:+.0f} MB)",
                        "met": flat})
    notes = [
        "What holds memory (from the code): `create_pairs` (kerapre/data/pair_maker.py, "
        f"`PairMaker.pairs`) tokenises a whole chunk of {_chunk_documents()} documents in one call "
        "(`_tokenize_chunk`) and keeps every pair of the chunk (× dupe_factor, as NumPy arrays in a list) "
        "to shuffle them before yielding any; the previous chunk's pairs and tokens are still referenced "
        "while the next chunk is tokenised. So memory grows with the corpus up to a chunk and is bounded by "
        "about two chunks beyond" + _chunks_here(memory) + ". `training_dataset` "
        "adds a 20,000-pair shuffle buffer. `pairs_dataset` (the on-the-fly row) reads the whole document "
        "list into memory by design (its docstring: small corpora).",
    ]
    if args.quick:
        notes.append("Quick run (`--quick`): dupe_factor 1 and one short round: a smoke test, not a result.")
    lines += ["", *[f"- {note}" for note in notes]]
    return {
        "title": "Text pretraining input pipeline vs the training step",
        "markdown": "\n".join(lines),
        "targets": targets,
        "machine": machine(),
        "rows": rows,
        "memory": memory,
        "prepare": {"vocab_s": vocab_s, "pairs": info.count, "write_s": write_s},
        "config": {"corpus": CORPUS, "seq_length": config.data.seq_length, "batch": config.data.batch_size,
                   "dupe_factor": config.data.dupe_factor, "rounds": args.rounds, "batches": args.batches,
                   "steps": args.steps, "quick": args.quick},
    }


def _chunk_documents():
    from kerapre.data.pair_maker import CHUNK_DOCUMENTS

    return f"{CHUNK_DOCUMENTS:,}"


def _chunks_here(memory):
    """``" (here: 1× is 1 chunk, 10× 10 chunks)"``: how many chunks each measured corpus made."""
    import math

    from kerapre.data.pair_maker import CHUNK_DOCUMENTS

    if not memory:
        return ""
    counts = ", ".join(f"{m['scale']}× {math.ceil(m['documents'] / CHUNK_DOCUMENTS)}" for m in memory)
    return f" (chunks here: {counts})"


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
