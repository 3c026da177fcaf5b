"""The key tables of docs/cli.md, generated from the config fields, defaults and docstrings.

Each table sits in docs/cli.md between ``<!-- keys: ClassName -->`` and ``<!-- /keys -->``;
its rows come from the dataclass fields (nested sections flattened to ``data.name``,
``train.epochs``, ...), the defaults of a fresh instance, and the ``Args:`` entries of the
section docstrings (a subclass's entry wins over the one it inherits). ``tests/test_docs.py``
checks that the committed tables are what this module generates. After changing a config:

```bash
python -m kerapre.config.reference docs/cli.md      # rewrite the tables
python -m kerapre.config.reference --check docs/cli.md
```
"""

import dataclasses
import inspect
import re
import sys

from kerapre.config.bert import BertPretrainConfig
from kerapre.config.cnn import CNNPretrainConfig, FinetuneConfig
from kerapre.config.quickstart import QuickstartBertConfig, QuickstartCNNConfig, QuickstartReportConfig
from kerapre.config.report import ImageReportConfig, TextReportConfig
from kerapre.config.ssl import SSLPretrainConfig
from kerapre.config.text import FinetuneTextConfig

# Each documented config and the prefix of its keys (the quickstart's sections).
TABLES = {
    "CNNPretrainConfig": (CNNPretrainConfig, ""),
    "SSLPretrainConfig": (SSLPretrainConfig, ""),
    "FinetuneConfig": (FinetuneConfig, ""),
    "BertPretrainConfig": (BertPretrainConfig, ""),
    "FinetuneTextConfig": (FinetuneTextConfig, ""),
    "ImageReportConfig": (ImageReportConfig, ""),
    "TextReportConfig": (TextReportConfig, ""),
    "QuickstartCNNConfig": (QuickstartCNNConfig, "cnn."),
    "QuickstartBertConfig": (QuickstartBertConfig, "bert."),
    "QuickstartReportConfig": (QuickstartReportConfig, "report."),
}
# Sections with a table of their own appear as one row where another config holds them.
_DOCUMENTED = tuple(cls for cls, _ in TABLES.values())
_REGION = re.compile(r"(<!-- keys: (\w+) -->\n)(.*?)(<!-- /keys -->)", re.S)


def field_docs(cls):
    """``{field: meaning}`` from the ``Args:`` sections of ``cls`` and the classes it
    inherits from (the most derived entry wins), as one line of Markdown each."""
    docs = {}
    for klass in reversed(cls.__mro__):
        docs.update(_args(inspect.cleandoc(vars(klass).get("__doc__") or "")))
    return docs


def _args(doc):
    entries, name, in_args = {}, None, False
    for line in doc.splitlines():
        if line.strip() == "Args:":
            in_args = True
            continue
        if not in_args:
            continue
        if line.strip() and not line.startswith(" "):
            break  # the next section (Examples:, Attributes:, ...)
        match = re.match(r"^    (\w+): (.*)$", line)
        if match:
            name = match.group(1)
            entries[name] = match.group(2).strip()
        elif name and line.strip():
            entries[name] += " " + line.strip()
    return {key: text.replace("``", "`").removesuffix(".") for key, text in entries.items()}


def as_yaml(value):
    """A default as docs/cli.md shows it: ``null``, ``true``, ``[0, 1]``, ``0.001``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(as_yaml(v) for v in value) + "]"
    return str(value)


def leaf_defaults(config, prefix=""):
    """``{"data.batch_size": 64, ...}``: every leaf key of a config instance with its value."""
    keys = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            keys.update(leaf_defaults(value, f"{prefix}{field.name}."))
        else:
            keys[prefix + field.name] = value
    return keys


def key_rows(cls, prefix=""):
    """``[(key, default, meaning)]`` of every key of ``cls``, in field order."""
    return list(_rows(cls(), cls, prefix, top=True))


def _rows(config, cls, prefix, top=False):
    docs = field_docs(cls)
    for field in dataclasses.fields(config):
        value, key = getattr(config, field.name), prefix + field.name
        if dataclasses.is_dataclass(value) and (top and prefix and isinstance(value, _DOCUMENTED)):
            yield key, _section_default(value), docs.get(field.name, "")
        elif dataclasses.is_dataclass(value):
            yield from _rows(value, type(value), key + ".")
        else:
            yield key, f"`{as_yaml(value)}`", docs.get(field.name, "")


def _section_default(value):
    """``a `X` with its defaults``, naming every key that differs from a fresh ``X``."""
    fresh = leaf_defaults(type(value)())
    changed = [f"`{key}: {as_yaml(v)}`" for key, v in leaf_defaults(value).items() if fresh[key] != v]
    name = f"a `{type(value).__name__}`"
    if not changed:
        return f"{name} with its defaults"
    return f"{name} with its defaults except " + (", ".join(changed[:-1]) + " and " if len(changed) > 1 else "") \
        + changed[-1]


def table(name):
    """The Markdown table of documented config ``name``."""
    cls, prefix = TABLES[name]
    lines = ["| key | default | meaning |", "|---|---|---|"]
    lines += [f"| `{key}` | {default} | {meaning} |" for key, default, meaning in key_rows(cls, prefix)]
    return "\n".join(lines) + "\n"


def render(text):
    """``text`` (docs/cli.md) with every key table regenerated."""
    return _REGION.sub(lambda m: m.group(1) + table(m.group(2)) + m.group(4), text)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"] or ["docs/cli.md"]
    stale = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = render(text)
        if new != text:
            stale.append(path)
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
    if check and stale:
        print(f"stale key tables in {', '.join(stale)}: run python -m kerapre.config.reference {' '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
