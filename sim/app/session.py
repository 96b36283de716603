"""One browser session's what-if: a reference setting, the changes made to it, and the worlds run
for the current changes. Every change starts a new generation; worlds of an older generation are
dropped when they arrive (a stale result is never shown as current), and their queued worlds are
cancelled, so one session runs one simulation at a time.

The reference policy's KPIs on each world are kept (they do not depend on the changes), so a
policy change plays only the changed policy on each world; a world change (lead volume, spike,
response curve) plays both, on the same seeds.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, cast

from sim.app.controls import label_of, value_at
from sim.app.pool import WorldPool
from sim.app.summary import View, build_view
from sim.app.worlds import WorldJob, WorldOutcome, dumps
from sim.config.errors import ConfigError
from sim.config.loading import apply_overrides
from sim.config.messages import validate_data
from sim.config.policy import Policy
from sim.config.scenario import Scenario

MAX_REPLICATIONS = 100              # worlds per request, at most
MAX_LEADS_PER_YEAR = 400_000        # per world and request: a live answer, not a batch job
DEFAULT_REPLICATIONS = 20
REFERENCE, CHANGED = "reference", "changed"


@dataclass
class Setting:
    """A validated scenario and policy."""

    scenario: Scenario
    policy: Policy


def _problems(e: ConfigError) -> dict[str, str]:
    """{dotted path inside the file: message} of a ConfigError from validate_data."""
    out: dict[str, str] = {}
    for line in e.problems:
        path, sep, text = line.partition(": ")
        if sep and " " not in path:
            out[path.replace("[", ".").replace("]", "")] = line
        else:
            out[""] = line
    return out


def field_errors(e: ConfigError, kind: str) -> dict[str, str]:
    """The problems of a ConfigError keyed by the app's control path ("policy.mql.threshold")."""
    return {f"{kind}.{p}" if p else kind: m for p, m in _problems(e).items()}


class FieldErrors(ConfigError):
    """Bad values of the app's levers: `fields` maps a control path ("policy.mql.threshold") to
    the CLI's message for it ("mql.threshold: must be <= 10000 (got 20000)")."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("settings", list(self.fields.values()))


def default_spike(scenario: Scenario) -> dict[str, Any]:
    """A one-week campaign two weeks into the measurement window (used when the scenario has none)."""
    start = scenario.start_date + dt.timedelta(minutes=scenario.horizon.warmup.minutes) + dt.timedelta(days=14)
    return {"name": "campaign", "start": start.isoformat(), "duration": "7d", "multiplier": 1.0}


def apply_changes(ref: Setting, changes: dict[str, Any]) -> Setting:
    """The reference with the changes ({"policy.mql.threshold": 80, ...}) applied and validated.
    Raises ConfigError whose problems name the field path and say what is allowed (the CLI's words)."""
    data = {"scenario": ref.scenario.model_dump(mode="json"), "policy": ref.policy.model_dump(mode="json")}
    errors: dict[str, str] = {}
    for kind, model in (("scenario", Scenario), ("policy", Policy)):
        sets = [(p.split(".", 1)[1], v) for p, v in changes.items() if p.startswith(kind + ".")]
        if kind == "scenario" and any(p.startswith("arrivals.spikes.0.") for p, _ in sets) \
                and not data["scenario"]["arrivals"]["spikes"]:
            data["scenario"]["arrivals"]["spikes"] = [default_spike(ref.scenario)]
        try:
            data[kind] = apply_overrides(data[kind], sets, kind, model)
            obj = cast("Scenario | Policy", validate_data(model, data[kind], kind))
        except ConfigError as e:
            errors.update(field_errors(e, kind))
            continue
        if isinstance(obj, Scenario) and obj.arrivals.leads_per_year > MAX_LEADS_PER_YEAR:
            errors["scenario.arrivals.leads_per_year"] = (
                f"arrivals.leads_per_year: the app runs at most {MAX_LEADS_PER_YEAR:,} leads a year per world "
                f"(got {obj.arrivals.leads_per_year:,.0f}); use `funnelsim compare` for bigger runs")
    if errors:
        raise FieldErrors(errors)
    return Setting(Scenario.model_validate(data["scenario"]), Policy.model_validate(data["policy"]))


def check_replications(n: Any) -> int:
    """The number of worlds per request, or ConfigError (whole number, 5 to MAX_REPLICATIONS)."""
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REPLICATIONS:
        raise ConfigError("replications", [f"replications: must be a whole number from 1 to {MAX_REPLICATIONS} "
                                           f"(got {n!r})"])
    return n


def _arrivals(futures: list[Future[WorldOutcome]]) -> asyncio.Queue[Future[WorldOutcome]]:
    """A queue on the running loop that receives each future as it finishes (done, failed or
    cancelled), whichever thread finishes it. Unlike awaiting wrapped futures, a cancelled world
    never raises CancelledError into the waiting task, so that task's own cancellation is never
    mistaken for a world's (and swallowed)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Future[WorldOutcome]] = asyncio.Queue()

    def post(f: Future[WorldOutcome]) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, f)
        except RuntimeError:            # the loop is closed: nobody waits for this world any more
            pass
    for f in futures:
        f.add_done_callback(post)
    return queue


@dataclass
class WhatIf:
    """The state of one session. `run()` plays the current changes and calls `on_view` after each
    world of the current generation."""

    pool: WorldPool
    reference: Setting
    seed: int
    replications: int = DEFAULT_REPLICATIONS
    changes: dict[str, Any] = field(default_factory=dict)
    generation: int = 0
    changed: Setting | None = None
    view: View | None = None
    _pending: list[Future[WorldOutcome]] = field(default_factory=list)
    _ref_cache: dict[tuple[str, int], tuple[dict[str, float], dict[str, list[float]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reference = Setting(self.reference.scenario,
                                 self.reference.policy.model_copy(update={"name": REFERENCE}))
        self.changed = self.reference

    def value(self, path: str) -> Any:
        """A control's current value (the change if made, else the reference's)."""
        if path in self.changes:
            return self.changes[path]
        kind, _, sub = path.partition(".")
        base = self.reference.scenario if kind == "scenario" else self.reference.policy
        v = value_at(base.model_dump(mode="json"), sub)
        if path == "policy.reps" and v is None:
            return self.reference.scenario.sales.reps
        if path == "scenario.arrivals.spikes.0.multiplier" and v is None:
            return 1.0
        return v

    def set(self, path: str, value: Any) -> None:
        """Record a change and validate every change together (ConfigError names the fields)."""
        changes = dict(self.changes)
        changes[path] = value
        try:
            self.changed = apply_changes(self.reference, changes)
        finally:
            self.changes = changes

    def start(self, setting: Setting) -> None:
        """Start over from `setting` (a scenario or a results folder): it becomes the reference and
        the current setting, the changes and the reference's cached results are dropped."""
        self.cancel()
        self.generation += 1
        self.reference = Setting(setting.scenario, setting.policy.model_copy(update={"name": REFERENCE}))
        self.changes = {}
        self.changed = self.reference
        self._ref_cache.clear()

    def make_reference(self) -> None:
        """The current setting becomes the reference (the changes are cleared)."""
        if self.changed is None:
            return
        self.reference = Setting(self.changed.scenario, self.changed.policy.model_copy(update={"name": REFERENCE}))
        self.changes = {}
        self.changed = self.reference
        self._ref_cache.clear()

    def cancel(self) -> None:
        for f in self._pending:
            f.cancel()
        self._pending = []

    def stop(self) -> View | None:
        """Stop the current run: its queued worlds are cancelled and worlds still arriving are
        dropped (the generation moves on, so nothing of this run is drawn as current again).
        Returns the partial view it had reached (None before any world)."""
        view = self.view if self.view is not None and self.view.generation == self.generation else None
        self.cancel()
        self.generation += 1
        return view

    async def run(self, on_view: Callable[[View], Awaitable[None] | None] | None = None) -> View:
        """Play the current setting on `replications` worlds; returns the last view of this
        generation (a superseded run returns its last view, already stale, without calling on_view)."""
        self.generation += 1
        gen = self.generation
        self.cancel()
        ref, new = self.reference, self.changed or self.reference
        ref_sc = dumps(ref.scenario.model_dump(mode="json"))
        new_sc = dumps(new.scenario.model_dump(mode="json"))
        same_world = new_sc == ref_sc
        ref_pol = ref.policy.model_dump(mode="json")
        new_pol = new.policy.model_copy(update={"name": CHANGED}).model_dump(mode="json")
        ref_key = ref_sc + dumps(ref_pol)
        ref_text, new_text = dumps(ref_pol), dumps(new_pol)      # once, not once per world
        futures: list[Future[WorldOutcome]] = []
        for r in range(self.replications):
            cached = (ref_key, r) in self._ref_cache
            if same_world:
                pols = (new_text,) if cached else (ref_text, new_text)
                futures.append(self.pool.submit(WorldJob(new_sc, pols, self.seed, r)))
            else:
                if not cached:
                    futures.append(self.pool.submit(WorldJob(ref_sc, (ref_text,), self.seed, r)))
                futures.append(self.pool.submit(WorldJob(new_sc, (new_text,), self.seed, r)))
        self._pending = futures
        got: dict[int, tuple[dict[str, float], dict[str, list[float]]]] = {}
        errors: list[str] = []
        total = self.replications
        view = build_view(gen, total, [], [], [])
        if gen == self.generation:
            self.view = view
        arrived = _arrivals(futures)
        for k in range(len(futures)):
            # The only CancelledError here is this task's own (the page stopped it, the server is
            # stopping): it always propagates. A cancelled world is a future that arrives cancelled.
            f = await arrived.get()
            if gen != self.generation:          # a newer setting or a stop: this world is stale
                return view
            if f.cancelled():                   # the pool dropped it (the server is stopping)
                out = WorldOutcome(-1, error="cancelled")
            elif (exc := f.exception()) is not None:   # a broken pool is shown on the page, not raised
                out = WorldOutcome(-1, error=f"{type(exc).__name__}: {exc}")
            else:
                out = f.result()
            if out.error:
                errors.append(f"world {out.replication}: {out.error}")
            if REFERENCE in out.kpis:
                self._ref_cache[(ref_key, out.replication)] = (out.kpis[REFERENCE], out.series[REFERENCE])
            if CHANGED in out.kpis:
                got[out.replication] = (out.kpis[CHANGED], out.series[CHANGED])
            ready = sorted(r for r in got if (ref_key, r) in self._ref_cache)
            pairs = [(self._ref_cache[(ref_key, r)][0], got[r][0]) for r in ready]
            series = [(self._ref_cache[(ref_key, r)][1], got[r][1]) for r in ready]
            view = build_view(gen, total, pairs, series, errors)
            view.arrived = k + 1 == len(futures)
            self.view = view
            if on_view is not None:
                res = on_view(view)
                if asyncio.iscoroutine(res):
                    await res
        if gen == self.generation:      # a newer run's futures are its own to cancel
            self._pending = []
        return view

    def describe_changes(self) -> list[str]:
        """The changes in plain words: 'MQL threshold (points): 60 -> 80'."""
        from sim.format import setting, setting_name
        out = []
        for path, v in self.changes.items():
            kind, _, sub = path.partition(".")
            base = self.reference.scenario if kind == "scenario" else self.reference.policy
            old = value_at(base.model_dump(mode="json"), sub)
            if path == "policy.reps" and old is None:
                old = self.reference.scenario.sales.reps
            if old == v or (isinstance(old, (int, float)) and isinstance(v, (int, float)) and float(old) == float(v)):
                continue
            out.append(f"{label_of(path) or setting_name(sub)}: {setting(old)} -> {setting(v)}")
        return out
