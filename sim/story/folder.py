"""`sim.explain(folder, lead)`: one lead's story under each policy of a results folder.

The folder's manifest holds the fully resolved scenarios, policies, design, seed and replications,
and a world depends on (scenario, seed, replication) only. So the story re-runs the one replication
that holds the lead, rebuilt the way the experiment built it (`build_plan`, as `more.py` does), and
reads the engine's own logs. Before telling anything it checks the re-run against what was saved:
every KPI of each policy's row in the runs table, and the lead's row of the `--events` tables when
the folder has them. A folder made by a different engine (another version) is refused, not
approximated.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from sim.experiment.results import Results, load_results
from sim.experiment.world_task import TaskSpec
from sim.format import plural
from sim.story.model import PolicyStory, Story
from sim.vocab import CHANNELS, COMPANY_SIZES, EMAIL_KINDS, INDUSTRIES, REGIONS, SENIORITIES


class StoryError(ValueError):
    """The story cannot be told: a bad folder, scenario, point, replication, policy or lead id, or
    a re-run that differs from the saved results. The CLI exits 2 with this message."""


def _folder(res: Results) -> Path:
    """The results' folder. Results kept in memory only (compare or sweep without `out`) have none,
    and explain reads the folder's saved tables."""
    if res.path is None:
        raise StoryError("these results were kept in memory only: explain reads a results folder; run compare "
                         "or sweep with out=FOLDER (CLI: --out) and explain that folder")
    return res.path


def _load(results: str | Path | Results) -> Results:
    if isinstance(results, Results):
        res = results
    else:
        try:
            res = load_results(results)
        except FileNotFoundError as e:
            raise StoryError(str(e)) from None
    _folder(res)
    if not res.complete:
        raise StoryError(f"{res.path}: incomplete results folder (no COMPLETE marker): finish it with the same "
                         "command plus --resume, then explain")
    for key in ("scenarios", "policies", "seed"):
        if key not in res.manifest:
            raise StoryError(f"{res.path}: manifest.json has no {key!r}: not a results folder explain can re-run")
    return res


def _choose(res: Results, scenario: str | None, point: int | None, replication: int,
            policies: Sequence[str] | None) -> tuple[str, int, list[str], pd.DataFrame]:
    """The scenario, point and policies asked for (checked against the runs table), and their rows."""
    runs = res.runs
    names = list(dict.fromkeys(runs["scenario"].astype(str)))
    if scenario is None:
        if len(names) > 1:
            raise StoryError(f"{res.path} holds several scenarios ({', '.join(names)}): choose one with --scenario")
        scenario = names[0]
    elif scenario not in names:
        raise StoryError(f"no scenario {scenario!r} in {res.path} (it has {', '.join(names)})")
    sub = runs[runs["scenario"].astype(str) == scenario]
    points = sorted({int(p) for p in sub["point"]})
    if point is None:
        point = points[0]
    elif point not in points:
        raise StoryError(f"no point {point} in {res.path} (points {points[0]}..{points[-1]})")
    sub = sub[sub["point"].astype(int) == point]
    reps = sorted({int(r) for r in sub["replication"]})
    if replication not in reps:
        have = f"{reps[0]}..{reps[-1]}" if len(reps) > 1 else str(reps[0])
        raise StoryError(f"no replication {replication} in {res.path} for scenario {scenario!r}, point {point} "
                         f"(it has replications {have})")
    sub = sub[sub["replication"].astype(int) == replication]
    have_pol = list(dict.fromkeys(sub["policy"].astype(str)))
    wanted = list(policies) if policies else have_pol
    missing = [p for p in wanted if p not in have_pol]
    if missing:
        raise StoryError(f"no policy {', '.join(map(repr, missing))} in {res.path} (it has {', '.join(have_pol)})")
    return scenario, point, wanted, sub


def _spec(res: Results, scenario: str, point: int, replication: int) -> TaskSpec:
    """The TaskSpec the experiment ran for (scenario, point, replication), rebuilt from the manifest."""
    from sim.config.loading import ConfigError
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.experiment.task_plan import Source, build_plan
    mf = res.manifest
    design = mf.get("design") or {}
    points = [p["values"] for p in design.get("points", [])] or [{}]
    try:
        scen: list[Source] = [Scenario.model_validate(d) for d in mf["scenarios"].values()]
        pols: list[Source] = [Policy.model_validate(d) for d in mf["policies"].values()]
        plan = build_plan(mf.get("kind", "compare"), mf.get("name", "explain"), scen, pols,
                          factors=design.get("factors", []), points=points, replications=replication + 1,
                          seed=int(mf["seed"]))
    except (ConfigError, ValueError) as e:
        raise StoryError(f"{res.path}: the manifest's inputs no longer validate with this version of funnelsim "
                         f"({e})") from None
    for t in plan.tasks:
        if t.scenario_name == scenario and t.point == point and t.replication == replication:
            return t
    raise StoryError(f"{res.path}: scenario {scenario!r}, point {point} is not in the manifest's design")


def _same(a: Any, b: Any) -> bool:
    """Saved and re-run values agree: equal, both missing, or (numbers) equal to 1e-9 relative
    (a CSV-only folder rounds the last digit)."""
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=0.0)


def _check_kpis(res: Results, saved: pd.DataFrame, rows: list[dict[str, Any]], wanted: list[str]) -> list[str]:
    """Every KPI of the re-run equals the saved runs row; returns what was checked."""
    by_policy = {str(r["policy"]): r for r in saved.to_dict("records")}
    checked = []
    for row in rows:
        name = str(row["policy"])
        if name not in wanted:
            continue
        old = by_policy[name]
        common = [k for k in row if k in old]
        diff = [k for k in common if not _same(old[k], row[k])]
        if diff:
            show = ", ".join(f"{k}: saved {old[k]!r}, re-run {row[k]!r}" for k in diff[:3])
            mf = res.manifest
            made = (mf.get("versions") or {}).get("funnelsim"), mf.get("git_commit")
            raise StoryError(
                f"{res.path}: re-running {row['run_id']} does not reproduce the saved results ({show}"
                f"{', ...' if len(diff) > 3 else ''}); the folder was made by funnelsim {made[0]} at commit "
                f"{made[1]}: explain it with that version")
        checked.append(f"{name}: {len(common)} KPIs of run {row['run_id']} equal the runs table")
    return checked


def _table(res: Results, name: str, cache: dict[str, pd.DataFrame | None]) -> pd.DataFrame | None:
    """events/<name>.parquet of the folder (None if absent), read once."""
    if name not in cache:
        path = _folder(res) / "events" / f"{name.replace(':', '__')}.parquet"
        cache[name] = pd.read_parquet(path) if path.is_file() else None
    return cache[name]


def _check_events(res: Results, run_id: str, story: PolicyStory, out: Any, lead: int,
                  cache: dict[str, pd.DataFrame | None]) -> list[str]:
    """The lead's rows of the folder's `--events` tables (if any) agree with the re-run: its outcome
    row (`out`: the re-run's LeadOutcomes) and each of its attempts (time, episode, rep, reached)."""
    from sim.experiment.world_task import ATTEMPTS_DIR
    from sim.vocab import ALL_TERMINAL_STATES, REJECTION_REASONS, TIERS
    ev = _table(res, run_id, cache)
    if ev is None:
        return []
    name = run_id.replace(":", "__")
    row = ev[ev["lead"] == lead]
    if row.empty:
        return [f"{story.policy}: lead {lead} has no row in events/{name}.parquet (not in the measured cohort)"]
    saved = row.iloc[0]
    fm, tier, reason = float(out.first_mql[lead]), int(out.first_tier[lead]), int(out.reason[lead])
    attempts = [e for e in story.events if e.kind == "attempt"]
    nan = float("nan")
    mine = {"first_mql": fm if math.isfinite(fm) else nan, "first_touch": out.first_touch[lead],
            "contact": out.contact_time[lead], "sal": out.sal[lead], "rejected": out.rejected[lead],
            "sql": out.sql_time[lead], "opportunity": out.opportunity_time[lead], "close": out.close_time[lead],
            "won": out.won[lead], "amount": out.amount[lead], "episodes": out.episodes[lead],
            "recycles": out.recycles[lead], "state": ALL_TERMINAL_STATES[int(out.state[lead])],
            "first_tier": TIERS[tier] if tier >= 0 else nan, "reason": REJECTION_REASONS[reason] if reason >= 0 else nan,
            "attempts": len(attempts), "first_rep": attempts[0].data["rep"] if attempts else -1}
    bad = [c for c in mine if c in saved.index and not _same(saved[c], mine[c])]
    if bad:
        raise StoryError(f"{_folder(res) / 'events' / name}.parquet: lead {lead}'s saved row differs from the re-run "
                         f"in {', '.join(bad)}")
    notes = [f"{story.policy}: the lead's row of events/{name}.parquet agrees"]
    table = _table(res, f"{ATTEMPTS_DIR}/{run_id}", cache)
    if table is not None:
        rows = table[table["lead"] == lead]
        saved_attempts = list(zip(rows["start"], rows["episode"], rows["attempt"], rows["rep"], rows["reached"]))
        told = [(e.t, e.episode, e.data["attempt"], e.data["rep"], e.data["reached"]) for e in attempts]
        if len(saved_attempts) != len(told) or not all(
                all(_same(x, y) for x, y in zip(a, b)) for a, b in zip(saved_attempts, told)):
            raise StoryError(f"{_folder(res) / 'events' / ATTEMPTS_DIR / name}.parquet: lead {lead}'s attempts differ "
                             "from the re-run")
        notes.append(f"{story.policy}: its {plural(len(told), 'attempt')} equal events/{ATTEMPTS_DIR}/{name}.parquet")
    return notes


def lead_facts(world: Any, lead: int, at: Any) -> dict[str, Any]:
    """Who the lead is (attributes as codes' names) and the hidden truth the simulator knows."""
    a, b = int(world.event_offsets[lead]), int(world.event_offsets[lead + 1])
    return {
        "arrival": float(world.arrival[lead]), "arrival_at": at(float(world.arrival[lead])),
        "channel": CHANNELS[int(world.channel[lead])], "seniority": SENIORITIES[int(world.seniority[lead])],
        "company_size": COMPANY_SIZES[int(world.company_size[lead])], "industry": INDUSTRIES[int(world.industry[lead])],
        "region": REGIONS[int(world.region[lead])], "email_kind": EMAIL_KINDS[int(world.email_kind[lead])],
        "existing_customer": bool(world.existing_customer[lead]), "open_deal": bool(world.open_deal[lead]),
        "engagement_events": b - a, "buyer": bool(world.buyer[lead]), "intent": float(world.intent[lead]),
    }


@dataclass
class Replay:
    """One replication of a results folder, re-run and checked against what was saved: tells the
    story of any of its leads (`story(lead)`) without running it again."""

    results: Results
    spec: Any                       # the TaskSpec the experiment ran
    scenario: Any                   # Scenario
    world: Any                      # World
    calendar: Any                   # BusinessCalendar
    replication: Any                # sim.experiment.replication.Replication (the policies asked for)
    policies: list[str]
    checked: list[str] = field(default_factory=list)
    _events: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)
    _cache: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)   # per policy, across leads

    @property
    def leads(self) -> int:
        return int(self.world.n)

    def story(self, lead: int) -> Story:
        """The lead's story under each policy; StoryError if the id is outside the world."""
        from sim.story.lead import Clock, policy_story
        if isinstance(lead, bool) or not isinstance(lead, (int, np.integer)):
            raise StoryError(f"lead id must be a whole number, got {lead!r}")
        spec, world = self.spec, self.world
        if not 0 <= lead < world.n:
            raise StoryError(f"lead {lead} is outside this world: replication {spec.replication} of scenario "
                             f"{spec.scenario_name!r} has leads 0..{world.n - 1}")
        lead = int(lead)
        checked, stories = list(self.checked), []
        for name in self.policies:
            run = self.replication.runs[name]
            ps = policy_story(world, self.scenario, self.calendar, run, lead, self._cache.setdefault(name, {}))
            stories.append(ps)
            checked += _check_events(self.results, f"{spec.id}:{name}", ps, run.outcomes, lead, self._events)
        return Story(folder=str(self.results.path), lead=lead, scenario=spec.scenario_name, point=spec.point,
                     settings=dict(spec.values), replication=spec.replication, seed=spec.seed,
                     in_cohort=bool(world.in_cohort[lead]), facts=lead_facts(world, lead, Clock(self.scenario.start_date)),
                     policies=stories, checked=checked)


def replay(results: str | Path | Results, *, scenario: str | None = None, point: int | None = None,
           replication: int = 0, policies: Sequence[str] | None = None) -> Replay:
    """Re-run one replication of a results folder (the policies asked for, default all) and check
    every KPI against the saved runs table. Raises StoryError for a bad folder or choice, or a
    re-run that does not reproduce the saved KPIs."""
    from sim.calendar import BusinessCalendar
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.experiment.replication import run_replication
    from sim.experiment.world_task import collect
    from sim.world.generate import generate_world

    res = _load(results)
    if isinstance(replication, bool) or not isinstance(replication, (int, np.integer)) or replication < 0:
        raise StoryError(f"replication must be a whole number >= 0, got {replication!r}")
    scenario, point, wanted, saved = _choose(res, scenario, point, int(replication), policies)
    spec = _spec(res, scenario, point, int(replication))
    sc = Scenario.model_validate(spec.scenario)
    world = generate_world(sc, spec.seed, spec.replication)
    cal = BusinessCalendar.from_scenario(sc)
    pols = [p for p in (Policy.model_validate(d) for d in spec.policies) if p.name in wanted]
    rep = run_replication(sc, pols, spec.seed, spec.replication, world=world, calendar=cal)
    only = dataclasses.replace(spec, policies=tuple(p.model_dump(mode="json") for p in pols))
    checked = _check_kpis(res, saved, collect(only, rep).rows, wanted)
    return Replay(res, spec, sc, world, cal, rep, wanted, checked)


def explain(results: str | Path | Results, lead: int, *, scenario: str | None = None, point: int | None = None,
            replication: int = 0, policies: Sequence[str] | None = None) -> Story:
    """The story of lead `lead` (its index in the replication's world, the `lead` column of the
    `--events` tables) under each policy of a results folder (or those named in `policies`).
    `scenario` is needed when the folder has several; `point` picks a sweep's point (default the
    first). Raises StoryError for a bad folder, choice or lead id, or a re-run that does not
    reproduce the saved KPIs."""
    if isinstance(lead, bool) or not isinstance(lead, (int, np.integer)):
        raise StoryError(f"lead id must be a whole number, got {lead!r}")
    return replay(results, scenario=scenario, point=point, replication=replication, policies=policies).story(lead)
