"""Every field has a documented default: each property in the JSON Schema of scenario, policy and
experiment files (`funnelsim schema ...`) carries a description of what it means. A property that
is only a `$ref` counts as described when the referenced model has a docstring, but fields should
say what they are themselves. The generic duration help (the same text for every duration) does
not count: a duration field must say what it is a duration *of*."""
from __future__ import annotations

import pytest

from sim.config.experiment import Experiment
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.config.units import DURATION_HELP


def _ref_target(schema: dict, node: dict) -> dict | None:
    """The definition a property points at ($ref, or a single-member allOf/anyOf around one)."""
    ref = node.get("$ref")
    if ref is None:
        for key in ("allOf", "anyOf", "oneOf"):
            refs = [m["$ref"] for m in node.get(key, []) if isinstance(m, dict) and "$ref" in m]
            if len(refs) == 1:
                ref = refs[0]
                break
    if ref is None or not ref.startswith("#/$defs/"):
        return None
    return schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"))


def _described(text) -> bool:
    return isinstance(text, str) and text.strip() != "" and text.strip() != DURATION_HELP


def undescribed(schema: dict) -> list[str]:
    """Dotted names (`Model.field`) of every property, at the top level and in every `$defs` entry,
    that has no description of its own and is not a reference to a described definition."""
    owners = [(schema.get("title", "<root>"), schema)]
    owners += [(name, d) for name, d in schema.get("$defs", {}).items()]
    missing = []
    for owner, d in owners:
        for prop, node in d.get("properties", {}).items():
            if _described(node.get("description")):
                continue
            target = _ref_target(schema, node)
            if target is not None and _described(target.get("description")):
                continue
            missing.append(f"{owner}.{prop}")
    return missing


@pytest.mark.parametrize("model", [Scenario, Policy, Experiment], ids=lambda m: m.__name__)
def test_every_property_is_described(model):
    schema = model.model_json_schema()
    assert schema.get("properties"), "the walk found no properties: schema layout changed?"
    missing = undescribed(schema)
    assert not missing, f"{len(missing)} properties without a description: " + ", ".join(missing)


@pytest.mark.parametrize("model", [Scenario, Policy, Experiment], ids=lambda m: m.__name__)
def test_every_definition_is_described(model):
    schema = model.model_json_schema()
    bare = [name for name, d in schema.get("$defs", {}).items()
            if d.get("type") == "object" and not _described(d.get("description"))]
    assert not bare, "models without a docstring: " + ", ".join(bare)


def test_the_walk_catches_a_bare_field():
    from pydantic import Field

    from sim.config.base import Strict
    from sim.config.units import Duration, dur

    class Inner(Strict):
        """Documented."""

        x: int = 3

    class Outer(Strict):
        inner: Inner = Inner()
        wait: Duration = dur("1h")
        ok: int = Field(1, description="fine")

    missing = undescribed(Outer.model_json_schema())
    assert sorted(missing) == ["Inner.x", "Outer.wait"]


def test_schema_shows_duration_defaults_as_file_text():
    """`funnelsim schema` shows "5bm", the text a file uses, not the Duration's internal fields."""
    import json

    from click.testing import CliRunner

    from sim.cli import main
    def objects(node):
        if isinstance(node, dict):
            yield node
            for v in node.values():
                yield from objects(v)
        elif isinstance(node, list):
            for v in node:
                yield from objects(v)

    for kind in ("policy", "scenario"):
        out = json.loads(CliRunner().invoke(main, ["schema", kind]).stdout)
        # a Duration's internal fields (value, unit) never show; `mql.unit` is a field of its own
        assert not [o for o in objects(out) if {"value", "unit"} <= set(o.get("properties", {}))], kind
    policy = json.loads(CliRunner().invoke(main, ["schema", "policy"]).stdout)
    assert policy["$defs"]["SlaTargets"]["properties"]["demo"]["default"] == "5bm"
