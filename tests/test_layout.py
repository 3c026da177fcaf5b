"""The shape of the package: imports run one way (config -> data -> models -> tasks -> training ->
export -> report -> workflows -> cli), and no workflow imports another."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "kerapre"

# Each top-level module or package of kerapre, by layer: a module imports only from its own
# layer or those before it.
LAYERS = [
    {"errors", "atomic", "run_record"},
    {"config"},
    {"data"},
    {"models"},
    {"tasks"},
    {"distribute", "distribute_patches", "training"},
    {"export"},
    {"report"},
    {"workflows"},
    {"cli", "launch"},
]
# Workflows that compose others: the quickstart runs the whole path.
COMPOSERS = {"kerapre.workflows.quickstart", "kerapre.workflows.quickstart_bert"}
# Imports allowed to run the wrong way: none.
KNOWN = set()


def _layer(module):
    part = module.split(".")[1] if "." in module else ""
    for index, layer in enumerate(LAYERS):
        if part in layer:
            return index
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py: add it where it belongs")


def _imports():
    for path in sorted(ROOT.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kerapre."):
                yield module, node.module
            elif isinstance(node, ast.Import):
                yield from ((module, alias.name) for alias in node.names if alias.name.startswith("kerapre."))


def _wrong_way():
    wrong = set()
    for module, imported in _imports():
        if module == "kerapre":
            continue  # the package root re-exports the public API
        if _layer(imported) > _layer(module):
            wrong.add((module, imported))
        both = module.split(".")[1] == imported.split(".")[1] == "workflows"
        if both and module not in COMPOSERS:
            wrong.add((module, imported))
    return wrong


def test_imports_run_one_way():
    wrong = _wrong_way()
    assert wrong <= KNOWN, f"imports against the direction: {sorted(wrong - KNOWN)}"
    assert KNOWN <= wrong, f"fixed, so take them out of KNOWN: {sorted(KNOWN - wrong)}"


def test_the_layout_check_catches_a_wrong_way_import(monkeypatch):
    monkeypatch.setattr(
        "test_layout._imports",
        lambda: iter([("kerapre.data.corpus", "kerapre.training.run"), ("kerapre.training.run", "kerapre.config")]))
    assert _wrong_way() == {("kerapre.data.corpus", "kerapre.training.run")}


def test_the_package_root_loads_only_what_registers_kerapres_keras_classes():
    import subprocess
    import sys

    code = (
        "import sys, kerapre\n"
        "heavy = ('kerapre.export', 'kerapre.training.run', 'kerapre.workflows', 'kerapre.report')\n"
        "print(sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + '.')}))\n"
        "print(callable(kerapre.export), kerapre.export.layout.METADATA_FILE)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT.parent).stdout.splitlines()
    assert out == ["[]", "True kerapre.json"]
