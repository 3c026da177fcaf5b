"""The docs say what the code does: commands, flags, config keys and defaults, set-up, links."""

import argparse
import dataclasses
import pathlib
import re
import typing

import pytest

from kerapre import config as cfg
from kerapre.config.reference import as_yaml, leaf_defaults
from kerapre.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLI_DOC = ROOT / "docs" / "cli.md"
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _sections(text, level):
    """``{heading: body}`` of the markdown headings of ``level`` (``"##"`` or ``"###"``)."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.M)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2])}


def _commands(parser=None, prefix=()):
    """``{("pretrain", "cnn"): leaf parser, ...}`` for every runnable command."""
    parser = parser or build_parser()
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_commands(sub, prefix + (name,)))
    return found or {prefix: parser}


def _flag_rows(body):
    """``{flag: row}`` of a markdown table whose first column is a `--flag`."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `(--[\w-]+)` \|.*$", body, flags=re.M)}


def _table_rows(body):
    """``{key: row}`` of a markdown table whose first column is a `key`."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", body, flags=re.M)}


@pytest.fixture(scope="module")
def cli_doc():
    return CLI_DOC.read_text(encoding="utf-8")


def test_every_command_and_flag_is_documented(cli_doc):
    sections = _sections(cli_doc, "##")
    commands = _commands()
    assert {("pretrain", "cnn"), ("pretrain", "bert"), ("finetune", "image"), ("export",), ("evaluate",),
            ("report", "image"), ("report", "text"), ("quickstart",)} <= set(commands)
    for path, parser in commands.items():
        heading = f"`kerapre {' '.join(path)}`"
        assert heading in sections, f"docs/cli.md has no '## {heading}' section"
        flags = {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
        missing = sorted(f for f in flags if f"`{f}`" not in sections[heading])
        assert not missing, f"{heading}: flags {missing} are not in its section of docs/cli.md"
        choices = {c for a in parser._actions if a.option_strings and a.choices for c in a.choices}
        missing = sorted(c for c in choices if f"`{c}`" not in sections[heading])
        assert not missing, f"{heading}: choices {missing} are not in its section of docs/cli.md"


def test_pretrain_bert_flags_are_documented_with_the_keys_they_set(cli_doc):
    parser = _commands()[("pretrain", "bert")]
    rows = _flag_rows(_sections(cli_doc, "##")["`kerapre pretrain bert`"])
    keys = leaf_defaults(cfg.BertPretrainConfig())
    shortcuts = 0
    for action in parser._actions:
        key = re.search(r"\((\w+\.\w+)\)$", action.help or "")  # "... (train.steps)"
        if not action.option_strings or not key:
            continue  # --model-dir, --config and --set set no config key
        shortcuts += 1
        flag, key = action.option_strings[0], key.group(1)
        assert key in keys, f"{flag} claims to set {key}, which BertPretrainConfig does not have"
        assert f"`{key}`" in rows[flag], f"docs/cli.md: the row of {flag} does not name the key it sets, {key}"
        default = "none" if keys[key] is None else f"`{as_yaml(keys[key])}`"
        assert f"| `{flag}` | {default}" in rows[flag], f"docs/cli.md: {flag} shows a stale default, not {default}"
    assert shortcuts == 5, "pretrain bert's shortcut flags changed: update this test and docs/cli.md"


@pytest.mark.parametrize("cls", [cfg.CNNPretrainConfig, cfg.SSLPretrainConfig, cfg.FinetuneConfig, cfg.BertPretrainConfig,
                                 cfg.FinetuneTextConfig, cfg.ImageReportConfig, cfg.TextReportConfig])
def test_every_config_key_and_default_is_documented(cli_doc, cls):
    section = _sections(cli_doc, "###").get(f"`{cls.__name__}` keys")
    assert section, f"docs/cli.md has no '### `{cls.__name__}` keys' section"
    rows = _table_rows(section)
    for key, default in leaf_defaults(cls()).items():
        assert key in rows, f"{cls.__name__}: key {key!r} is not in docs/cli.md"
        assert f"| `{as_yaml(default)}` |" in rows[key], f"{cls.__name__}.{key}: docs/cli.md shows a stale default"
    assert set(rows) == set(leaf_defaults(cls())), "docs/cli.md lists keys the config does not have"


@pytest.mark.parametrize("section_name", ["cnn", "bert", "report"])
def test_every_quickstart_key_is_documented(cli_doc, section_name):
    assert [f.name for f in dataclasses.fields(cfg.QuickstartConfig)] == ["cnn", "bert", "report"]
    cls = typing.get_type_hints(cfg.QuickstartConfig)[section_name]
    section = _sections(cli_doc, "###").get(f"`{cls.__name__}` keys")
    assert section, f"docs/cli.md has no '### `{cls.__name__}` keys' section"
    rows = _table_rows(section)
    defaults = cls()
    for field in dataclasses.fields(defaults):
        key = f"{section_name}.{field.name}"
        assert key in rows, f"{cls.__name__}: key {key!r} is not in docs/cli.md"
        value = getattr(defaults, field.name)
        if not dataclasses.is_dataclass(value):
            assert f"| `{as_yaml(value)}` |" in rows[key], f"{key}: docs/cli.md shows a stale default"


def test_readme_has_exactly_the_two_set_up_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    set_up = _sections(readme, "##")["Set up and run"]
    commands = [
        line.split("#")[0].strip()
        for lang, body in FENCE.findall(set_up)
        if lang == "bash"
        for line in body.splitlines()
        if line.split("#")[0].strip()
    ]
    assert commands == ["bash run.sh quickstart", "bash run.sh test"]
    assert len([lang for lang, _ in FENCE.findall(set_up)]) == 2
    elsewhere = readme.replace(set_up, "")
    assert not any("run.sh" in body for _, body in FENCE.findall(elsewhere)), "a third set-up command"


def test_ci_runs_the_readme_test_command_and_nothing_else():
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    commands = [line for line in lines if not (line.startswith("set ") or line.startswith("cd "))]
    assert commands == ["bash run.sh test"]


def _anchors(path):
    """GitHub's anchors for the headings of a markdown file."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_files_and_headings_that_exist(doc):
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))  # code blocks hold no links
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path) if path else doc
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{doc.name}: broken links {broken}"


def test_the_key_tables_are_generated_from_the_configs(cli_doc):
    from kerapre.config import reference

    assert reference.render(cli_doc) == cli_doc, "docs/cli.md: run python -m kerapre.config.reference docs/cli.md"
    assert set(re.findall(r"<!-- keys: (\w+) -->", cli_doc)) == set(reference.TABLES), "a config has no key table"
    for name in reference.TABLES:
        missing = [key for key, _, meaning in reference.key_rows(*reference.TABLES[name]) if not meaning]
        assert not missing, f"{name}: keys without a docstring entry: {missing}"
