"""MkDocs hook: reference pages generated from the code, so they cannot drift from it.

A page line that is exactly one of these directives is replaced by generated Markdown:

    ::: funnelsim-schema scenario|policy|experiment|mapping  every field: type, bounds, default, meaning
    ::: funnelsim-kpis                                the KPI registry (sim/measure/registry.py)
    ::: funnelsim-results-layout                      the results folder (sim/experiment/results.py)
    ::: funnelsim-shipped scenarios|policies|experiments   the shipped files and their descriptions

The schemas come from the pydantic models, exactly as `funnelsim schema` prints them (same
SchemaGenerator, so durations show as the text a file uses, e.g. "5bm").
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

_DIRECTIVE = re.compile(r"^::: funnelsim-(schema|kpis|results-layout|shipped)(?:\s+(\S+))?\s*$", re.M)
_ROOT = Path(__file__).resolve().parents[2]


def on_pre_build(config) -> None:
    """Load every lazily registered command, so the generated CLI reference (mkdocs-click reads the
    group's loaded `commands`) lists all of them, exactly as `funnelsim --help` does."""
    import click

    from sim.cli import main
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        main.get_command(ctx, name)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return _DIRECTIVE.sub(lambda m: _render(m.group(1), m.group(2)), markdown)


def _render(what: str, arg: str | None) -> str:
    if what == "schema":
        return render_schema(arg or "")
    if what == "kpis":
        return render_kpis()
    if what == "results-layout":
        return render_results_layout()
    return render_shipped(arg or "")


# ------------------------------------------------------------------------------------------------
# Schemas
# ------------------------------------------------------------------------------------------------

def _model(kind: str):
    from sim.config.experiment import Experiment
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.crm.mapping import Mapping
    models = {"scenario": Scenario, "policy": Policy, "experiment": Experiment, "mapping": Mapping}
    if kind not in models:
        raise ValueError(f"funnelsim-schema: unknown kind {kind!r} (scenario, policy or experiment)")
    return models[kind]


def schema_of(kind: str) -> dict:
    from sim.config.units import SchemaGenerator
    return _model(kind).model_json_schema(schema_generator=SchemaGenerator)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _toml(v) -> str:
    """A default value as it would be written in a TOML file."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items() if x is not None) + " }"
    return str(v)


class _SchemaDoc:
    """Renders one JSON Schema as one section per TOML table, each with a table of its fields."""

    def __init__(self, schema: dict, kind: str, defaults: dict):
        self.schema = schema
        self.defaults = defaults
        self.kind = kind
        self.defs = schema.get("$defs", {})
        self.out: list[str] = []

    def _target(self, node: dict) -> tuple[str, dict] | None:
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            d = self.defs.get(name, {})
            if d.get("type") == "object" and "properties" in d:
                return name, d
        return None

    def _sub(self, node: dict) -> tuple[str, dict, str] | None:
        """A sub-table this field holds: (def name, def, shape) with shape table|array|map."""
        t = self._target(node)
        if t:
            return (*t, "table")
        for m in node.get("anyOf", []):
            s = self._sub(m)
            if s:
                return s
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            t = self._target(node["items"])
            if t:
                return (*t, "array")
        if node.get("type") == "object" and isinstance(node.get("additionalProperties"), dict):
            t = self._target(node["additionalProperties"])
            if t:
                return (*t, "map")
        return None

    def _type(self, node: dict, anchor: str = "") -> str:
        if "$ref" in node:
            t = self._target(node)
            if t:
                return f"[table](#{anchor})" if anchor else "table"
            return self._type(self.defs.get(node["$ref"].removeprefix("#/$defs/"), {}), anchor)
        if "anyOf" in node:
            parts = [self._type(m, anchor) for m in node["anyOf"] if m.get("type") != "null"]
            return " or ".join(dict.fromkeys(parts))
        if "enum" in node:
            return "one of " + ", ".join(f'`{json.dumps(e)}`' for e in node["enum"])
        if "const" in node:
            return f"`{json.dumps(node['const'])}`"
        t = node.get("type")
        if t == "string":
            if node.get("pattern", "").startswith("^\\s*(\\d+(?:\\.\\d+)?)\\s*(m|h|d|w"):
                out = "[duration](#durations)"
            else:
                out = {"date": "date", "time": "time"}.get(node.get("format", ""), "string")
        elif t == "array":
            inner = node.get("items") or {}
            if isinstance(node.get("prefixItems"), list):
                out = "[" + ", ".join(self._type(i) for i in node["prefixItems"]) + "]"
            else:
                out = f"list of {self._type(inner, anchor)}" if inner else "list"
            lo, hi = node.get("minItems"), node.get("maxItems")
            if lo is not None and lo == hi:
                out += f" (exactly {lo})"
            elif lo:
                out += f" (at least {lo})"
            elif hi is not None:
                out += f" (at most {hi})"
            return out
        elif t == "object":
            keys = (node.get("propertyNames") or {}).get("enum")
            val = node.get("additionalProperties")
            vt = self._type(val, anchor) if isinstance(val, dict) else "value"
            out = f"table: {'key' if keys else 'name'} → {vt}"
        elif t in ("number", "integer", "boolean"):
            out = t
        else:
            out = t or "any"
        bounds = self._bounds(node)
        return f"{out}, {bounds}" if bounds else out

    @staticmethod
    def _bounds(node: dict) -> str:
        lo = node.get("minimum", node.get("exclusiveMinimum"))
        hi = node.get("maximum", node.get("exclusiveMaximum"))
        lo_op = "<" if "exclusiveMinimum" in node else "≤"
        hi_op = "<" if "exclusiveMaximum" in node else "≤"
        f = lambda x: f"{x:,}" if isinstance(x, int) and abs(x) >= 10_000 else _toml(x)  # noqa: E731
        if lo is not None and hi is not None:
            return f"{f(lo)} {lo_op} x {hi_op} {f(hi)}"
        if lo is not None:
            return f"x {'>' if lo_op == '<' else '≥'} {f(lo)}"
        if hi is not None:
            return f"x {hi_op} {f(hi)}"
        return ""

    @staticmethod
    def _keys(node: dict) -> list:
        for n in [node, *node.get("anyOf", [])]:
            keys = (n.get("propertyNames") or {}).get("enum")
            if keys:
                return keys
        return []

    def _default_at(self, path: str):
        """A default the schema leaves out (a default_factory), from the model's own defaults."""
        node = self.defaults
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def section(self, d: dict, path: str, shape: str, depth: int) -> None:
        fields = d.get("properties", {})
        required = set(d.get("required", []))
        subs: list[tuple[str, str, dict, str]] = []
        if path:
            header = {"table": f"[{path}]", "array": f"[[{path}]]",
                      "map": f"[{path.rsplit('.', 1)[0]}.<key>]"}[shape]
            self.out.append(f"{'#' * min(depth, 6)} `{header}` {{ #{_anchor(path)} }}\n")
            if shape == "map":
                self.out.append(f"Each entry of `{path.rsplit('.', 1)[0]}` is a table with these fields.\n")
        desc = d.get("description", "")
        if desc and path:
            self.out.append(desc.strip() + "\n")
        rows = []
        for name, node in fields.items():
            fpath = f"{path}.{name}" if path else name
            sub = self._sub(node)
            anchor = _anchor(fpath if not sub or sub[2] != "map" else f"{fpath}.key")
            if sub:
                subs.append((fpath if sub[2] != "map" else f"{fpath}.key", sub[0], sub[1], sub[2]))
            typ = self._type(node, anchor)
            if sub and sub[2] == "table" and "anyOf" not in node:
                default = "see below"
            else:
                value = node["default"] if "default" in node else self._default_at(fpath)
                default = "*required*" if name in required else _toml(value)
                if default == "" and "default" in node and node["default"] is None:
                    default = "not set"
            meaning = node.get("description", "")
            if not meaning and "$ref" in node:
                meaning = self.defs.get(node["$ref"].removeprefix("#/$defs/"), {}).get("description", "")
            keys = self._keys(node)
            if keys:
                meaning += f" (keys: {', '.join(f'`{k}`' for k in keys)})"
            if default and default not in ("see below", "*required*", "not set"):
                default = f"`{_cell(default)}`"
            rows.append(f"| `{name}` | {_cell(typ)} | {default} | {_cell(meaning)} |")
        if rows:
            self.out.append("| field | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
        for fpath, _name, sd, sshape in subs:
            self.section(sd, fpath, sshape, depth + 1 if path else depth)

    def render(self) -> str:
        s = self.schema
        top = {k: v for k, v in s.get("properties", {}).items() if not self._sub(v)}
        nested = {k: v for k, v in s.get("properties", {}).items() if self._sub(v)}
        self.out.append("## Top level {#top-level}\n")
        self.out.append(f"{s.get('description', '').strip()} Fields outside any table:\n")
        self.section({"properties": top, "required": s.get("required", [])}, "", "table", 2)
        for name, node in nested.items():
            dname, d, shape = self._sub(node)
            path = name if shape != "map" else f"{name}.key"
            self.section(d, path, shape, 2)
            if "anyOf" in node:
                self.out.append(f"`{name}` may also be given as {self._type(node)}: see the table above.\n")
        return "\n".join(self.out)


def _anchor(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def render_schema(kind: str) -> str:
    model = _model(kind)
    required = {"experiment": {"scenarios": ["SCENARIO"], "policies": ["POLICY"]},
                "mapping": {"leads": {"id": "ID", "source": "SOURCE", "sources": {"x": "organic"}}}}.get(kind, {})
    defaults = model(**required).model_dump(mode="json")
    for k in required:
        defaults.pop(k)
    return _SchemaDoc(schema_of(kind), kind, defaults).render()


# ------------------------------------------------------------------------------------------------
# KPIs, results folder, shipped files
# ------------------------------------------------------------------------------------------------

def render_kpis() -> str:
    from sim.measure.registry import KPIS
    rows = ["| KPI | label | kind | ratio of, meaning | better |", "|---|---|---|---|---|"]
    for k in KPIS.values():
        how = ""
        if k.numerator and k.denominator:
            how = f"`{k.numerator}` / " + " + ".join(f"`{d}`" for d in k.denominator)
            if len(k.denominator) > 1:
                how = f"`{k.numerator}` / (" + " + ".join(f"`{d}`" for d in k.denominator) + ")"
        if k.help:
            how = f"{how}; {k.help}" if how else k.help
        better = {True: "higher", False: "lower", None: ""}[k.higher_is_better]
        kind = f"{k.kind} ({k.unit})" if k.unit else k.kind
        rows.append(f"| `{k.name}` | {_cell(k.label)} | {kind} | {_cell(how)} | {better} |")
    return "\n".join(rows) + "\n"


def render_results_layout() -> str:
    """The layout table from the docstring of sim/experiment/results.py (one entry per file)."""
    import sim.experiment.results as results
    doc = results.__doc__ or ""
    entries: list[list[str]] = []
    for line in doc.splitlines():
        m = re.match(r"^ {4}([^\s,]+(?:, [^\s,]+)*)(?:\s+(.*))?$", line)
        if m and not line.startswith("     "):
            entries.append([m.group(1).strip(), (m.group(2) or "").strip()])
        elif line.startswith("     ") and entries:
            entries[-1][1] += " " + line.strip()
    if not entries:
        raise ValueError("sim/experiment/results.py: no layout found in the module docstring")
    rows = ["| file | what |", "|---|---|"]
    for name, what in entries:
        files = " ".join(f"`{n.strip()}`" for n in re.split(r",\s*", name) if n.strip())
        rows.append(f"| {files} | {_cell(what)} |")
    return "\n".join(rows) + "\n"


def render_shipped(kind: str) -> str:
    folder = _ROOT / kind
    if not folder.is_dir():
        raise ValueError(f"funnelsim-shipped: no folder {kind}/")
    rows = ["| name | description |", "|---|---|"]
    for f in sorted(folder.glob("*.toml")):
        desc = tomllib.loads(f.read_text(encoding="utf-8")).get("description", "")
        rows.append(f"| `{f.stem}` | {_cell(desc)} |")
    return "\n".join(rows) + "\n"
