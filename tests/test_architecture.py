"""The layers depend downwards only (config < world < decisions < sales < measure < checks <
experiment < interface), and modules talk through public names: no `from sim.x import _private`. Read from the
source with `ast`, so a new import that breaks either rule fails here."""
from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parent.parent / "sim"

# layer of each top-level part of sim/; a module may import its own layer or lower ones
# (crm reads and writes CRM exports and draws its own figures: an interface, like the CLI and the report)
LAYER = {"vocab": 0, "normal": 0, "config": 0, "inputs": 0, "calendar": 1, "world": 1, "decisions": 2, "sales": 3, "measure": 4,
         "checks": 5, "experiment": 6, "crm": 7, "format": 7, "present": 7, "report": 7, "commands": 7, "cli": 7,
         "story": 7, "classroom": 7, "app": 7}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
            yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("sim."):
                    yield a.name, [], node.lineno


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_no_module_imports_another_modules_private_names():
    bad = []
    for path in sorted(SIM.rglob("*.py")):
        for module, names, line in _imports(path):
            bad += [f"{path.relative_to(SIM.parent)}:{line} {module}.{n}" for n in names
                    if n.startswith("_") and not n.startswith("__")]
    assert not bad, bad


def test_layers_depend_downwards_only():
    bad = []
    for path in sorted(SIM.rglob("*.py")):
        rel = path.relative_to(SIM)
        own = rel.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        if own not in LAYER:
            bad.append(f"sim/{rel}: {own} has no layer: add it to LAYER")
            continue
        for module, names, line in _imports(path):
            targets = [_part(module)] if _part(module) else [n for n in names if n in LAYER]
            for t in targets:
                if t in LAYER and LAYER[t] > LAYER[own]:
                    bad.append(f"sim/{rel}:{line} ({own}, layer {LAYER[own]}) imports {module} (layer {LAYER[t]})")
    assert not bad, "\n".join(bad)
