"""The documentation's examples are executed, so what the docs show is what the code does.

Conventions for README.md and docs/**/*.md (a block that follows none of them fails here):

* ```toml blocks say what they are.
  - ```toml title="DIR/NAME.toml"``` (DIR = scenarios, policies, experiments or mappings) is a
    complete file: it is validated as that kind with the project's own loaders
    (`sim.inputs.load_scenario` / `load_policy` / `load_experiment`, `sim.crm.mapping.load_mapping`)
    and written to DIR/NAME.toml in the page's working folder, so later commands on the page can use
    it. MkDocs Material shows the title above the block.
  - A block whose first line is `# part of a scenario file` (or `policy`, `experiment`) is a
    fragment. Every scenario and policy field has a default, so a fragment is validated as a whole
    file; an experiment fragment gets `scenarios = ["baseline"]` and `policies = ["seed-example"]`
    added first.
* ```console blocks: every line starting with `$ funnelsim ` is run (a trailing backslash continues
  it on the next line) and must exit 0. Other lines (output, `$ ls ...`) are shown, not checked.
  The commands of one page run in order (click's CliRunner, in this process) in one temporary
  working folder that holds copies of scenarios/, policies/, experiments/ and mappings/ and a link
  to tests/fixtures/, as if run from the repository's root. Nothing is written into the repository.
  Keep them small (`-n 2`, `--days 30`, the `workshop` scenario): this file should stay under a
  minute.
* ```sh blocks are never run: for what the tests cannot do (make, a Dask cluster, `source`).
* ```python blocks (notebook examples) and ```text blocks (output) are not run.

The site itself is built by `make test` (`mkdocs build --strict`); the reference pages are generated
by docs/hooks/reference.py, whose output is checked here against the schemas and the KPI registry.
"""
from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)])
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.M | re.S)
TITLE = re.compile(r'title="([^"]+)"')
FRAGMENT = re.compile(r"^#\s*part of an? (scenario|policy|experiment) file\b")
KIND_OF_DIR = {"scenarios": "scenario", "policies": "policy", "experiments": "experiment", "mappings": "mapping"}
COPIED = ("scenarios", "policies", "experiments", "mappings")
BEFORE = set(ROOT.iterdir()) | {ROOT / "site", ROOT / ".pytest_cache", ROOT / ".hypothesis", ROOT / ".coverage"}


def blocks(page: Path) -> list[tuple[str, str, str, int]]:
    """(language, info string, body, line number) of every fenced code block of a page."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        body = textwrap.dedent(m.group("indent") + m.group("body").replace("\n" + m.group("indent"), "\n"))
        out.append((m.group("lang"), m.group("info"), body, text.count("\n", 0, m.start()) + 1))
    return out


def commands(body: str) -> list[str]:
    """The `$ funnelsim ...` lines of a console block, continuation lines joined."""
    out, cur = [], None
    for line in body.splitlines():
        if cur is not None:
            cur += " " + line.strip()
        elif line.startswith("$ funnelsim "):
            cur = line[2:].strip()
        else:
            continue
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
            continue
        out.append(cur)
        cur = None
    assert cur is None, f"a command ends with a line continuation: {cur}"
    return out


def validate(kind: str, path: Path) -> None:
    from sim.inputs import load_experiment, load_policy, load_scenario
    if kind == "scenario":
        load_scenario(str(path))
    elif kind == "policy":
        load_policy(str(path))
    elif kind == "experiment":
        load_experiment(path)
    else:
        from sim.crm.mapping import load_mapping
        load_mapping(path)


def _workdir(tmp: Path) -> None:
    for d in COPIED:
        shutil.copytree(ROOT / d, tmp / d)
    (tmp / "tests").mkdir()
    (tmp / "tests" / "fixtures").symlink_to(ROOT / "tests" / "fixtures", target_is_directory=True)


def _id(p: Path) -> str:
    return str(p.relative_to(ROOT))


def test_pages_found():
    assert ROOT / "README.md" in PAGES and len(PAGES) > 10


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_page_examples(page: Path, tmp_path: Path, monkeypatch):
    """Every TOML block of the page validates; every `$ funnelsim` command exits 0, in page order."""
    from sim.cli import main
    work = tmp_path / "work"
    work.mkdir()
    _workdir(work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("COLUMNS", "120")
    runner = CliRunner()
    for lang, info, body, line in blocks(page):
        where = f"{_id(page)}:{line}"
        if lang == "toml":
            title = TITLE.search(info)
            frag = FRAGMENT.match(body)
            if title:
                rel = Path(title.group(1))
                assert rel.parent.name in KIND_OF_DIR and len(rel.parts) == 2 and rel.suffix == ".toml", \
                    f"{where}: title must be DIR/NAME.toml with DIR in {sorted(KIND_OF_DIR)}"
                target = work / rel
                target.write_text(body, encoding="utf-8")
                validate(KIND_OF_DIR[rel.parent.name], target)
            elif frag:
                kind = frag.group(1)
                text = body if kind != "experiment" else 'scenarios = ["baseline"]\npolicies = ["seed-example"]\n' + body
                target = tmp_path / f"fragment-{line}.toml"
                target.write_text(text, encoding="utf-8")
                validate(kind, target)
            else:
                pytest.fail(f"{where}: a toml block needs title=\"DIR/NAME.toml\" or a first line "
                            "'# part of a scenario|policy|experiment file' (see this file's docstring)")
        elif lang == "console":
            for cmd in commands(body):
                args = shlex.split(cmd)[1:]
                res = runner.invoke(main, args, catch_exceptions=True)
                detail = (res.stderr if hasattr(res, "stderr") else "") or res.output
                if res.exception and not isinstance(res.exception, SystemExit):
                    raise AssertionError(f"{where}: `{cmd}` raised") from res.exception
                assert res.exit_code == 0, f"{where}: `{cmd}` exited {res.exit_code}:\n{detail[-2000:]}"
    # nothing of the page's commands may land in the repository
    assert set(ROOT.iterdir()) <= BEFORE, f"written into the repository: {sorted(set(ROOT.iterdir()) - BEFORE)}"


def test_no_link_to_developer_inputs():
    """The docs never send a reader to ../shared, which is not part of the project."""
    for page in PAGES:
        assert "../shared" not in page.read_text(encoding="utf-8"), _id(page)


# ---------------------------------------------------------------------------------------------
# The generated reference pages (docs/hooks/reference.py)
# ---------------------------------------------------------------------------------------------

def _hook():
    spec = importlib.util.spec_from_file_location("funnelsim_docs_reference", DOCS / "hooks" / "reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fields(schema: dict) -> set[str]:
    """The name of every property of every object in a JSON Schema."""
    out = set()
    for d in [schema, *schema.get("$defs", {}).values()]:
        for name in d.get("properties", {}):
            out.add(name)
    return out


@pytest.mark.parametrize("kind", ["scenario", "policy", "experiment", "mapping"])
def test_schema_reference_lists_every_field(kind):
    hook = _hook()
    text = hook.render_schema(kind)
    rows = set(re.findall(r"^\| `([^`]+)` \|", text, re.M))
    rows |= {h.split(".")[-1] for h in re.findall(r"^#+ `\[{1,2}([^\]<]+?)(?:\.<key>)?\]{1,2}`", text, re.M)}
    missing = _fields(hook.schema_of(kind)) - rows
    assert not missing, f"{kind}: fields missing from the reference: {sorted(missing)}"
    assert "Sentinel" not in text and "None" not in text.replace("none", "")


def test_schema_reference_shows_defaults_and_bounds():
    text = _hook().render_schema("policy")
    assert '| `demo` | [duration](#durations) | `"5bm"` |' in text
    assert "| `threshold` | number, 0 ≤ x ≤ 10,000 | `60` |" in text
    scenario = _hook().render_schema("scenario")
    assert "### `[[arrivals.spikes]]`" in scenario and "### `[response.decay]`" in scenario


def test_kpi_reference_lists_the_registry():
    from sim.measure.registry import KPIS
    text = _hook().render_kpis()
    for name in KPIS:
        assert f"| `{name}` |" in text, name


def test_results_layout_from_the_module_docstring():
    text = _hook().render_results_layout()
    for name in ("manifest.json", "runs.parquet/.csv", "summary.csv", "differences.csv", "timeseries.parquet",
                 "COMPLETE"):
        assert f"`{name}`" in text, name


def test_every_directive_renders():
    hook = _hook()
    for page in PAGES:
        md = page.read_text(encoding="utf-8")
        out = hook.on_page_markdown(md, None, None, None)
        assert "::: funnelsim-" not in out, _id(page)


def test_no_comment_cites_a_file_or_issue_a_reader_cannot_open():
    """Code says the fact itself; design notes and issue numbers live outside the repository."""
    root = Path(__file__).resolve().parent.parent
    cite = re.compile("DESIGN" + r"\.md|REFERENCES" + r"\.md|\bissue" + r" \d+")
    bad = [f"{p.relative_to(root)}:{i}" for folder in ("sim", "tests", "benchmarks")
           for p in sorted((root / folder).rglob("*.py"))
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if cite.search(line)]
    assert not bad, bad


def test_json_reference_example_has_the_printed_shape():
    """docs/reference/json.md shows what `--json` prints: the same top-level keys in the same order,
    and every KPI, difference, point and diagnostic it shows with the fields the output has."""
    import json

    from sim.cli import main
    page = DOCS / "reference" / "json.md"
    example = json.loads(next(body for lang, _, body, _ in blocks(page) if lang == "json"))
    command = next(cmd for lang, _, body, _ in blocks(page) if lang == "console" for cmd in commands(body))
    res = CliRunner().invoke(main, shlex.split(command)[1:])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert list(example) == list(out)
    assert {k: out[k] for k in ("json_version", "kind", "factors", "baseline")} == \
        {k: example[k] for k in ("json_version", "kind", "factors", "baseline")}
    for part in ("policies", "differences"):
        for policy, kpis in example[part].items():
            for name, entry in kpis.items():
                assert set(entry) == set(out[part][policy][name]), (part, policy, name)
    assert set(example["points"][0]) == set(out["points"][0])
    assert set(example["diagnostics"][0]) <= set(out["diagnostics"][0])
