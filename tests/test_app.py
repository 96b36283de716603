"""The live what-if app (`funnelsim app`): the page reacts to a lever with a paired answer, refuses
impossible values with the CLI's field message, never shows a stale setting as current, exports
files `validate` accepts, and refuses paths outside the project's folders. Fast: NiceGUI's
simulated user (no browser), worlds played in a thread on the small `workshop` scenario."""
from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("nicegui")

from sim.app.guard import safe_path  # noqa: E402
from sim.app.pool import WorldPool  # noqa: E402
from sim.app.session import MAX_LEADS_PER_YEAR, FieldErrors, Setting, WhatIf, check_replications  # noqa: E402
from sim.app.summary import TOO_FEW  # noqa: E402
from sim.cli import main  # noqa: E402
from sim.config.errors import ConfigError  # noqa: E402
from sim.inputs import PROJECT_ROOT, load_policy, load_scenario  # noqa: E402

SHORT = [("horizon.window", "28d"), ("horizon.runout", "30d")]     # a few ms per world


def _reference() -> Setting:
    return Setting(load_scenario("workshop", SHORT), load_policy("seed-example", []))


def _project(tmp_path: Path) -> Path:
    (tmp_path / "scenarios").mkdir()
    shutil.copy(PROJECT_ROOT / "scenarios" / "workshop.toml", tmp_path / "scenarios" / "workshop.toml")
    (tmp_path / "outputs").mkdir()
    return tmp_path


# ---------------------------------------------------------------------------- the page (simulated user)

def _run(coro: Any) -> Any:
    """asyncio.run, but a task still pending at the end gets a bounded time (cancelled again every
    0.1 s, up to 5 s) and then fails the test with its stack: asyncio.run cancels once and waits
    without a limit, and a task that missed that cancel hung two full-suite runs."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for _ in range(50):             # cancel again what swallowed a cancel (as NiceGUI's teardown does)
            pending = [t for t in pending if not t.done()]
            if not pending:
                break
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.wait(pending, timeout=0.1))
        stuck = [_stack(t) for t in pending if not t.done()]
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        assert not stuck, "tasks that refused cancellation:\n" + "\n".join(stuck)


def _stack(task: asyncio.Task[Any]) -> str:
    import io
    out = io.StringIO()
    task.print_stack(file=out)
    return f"{task.get_name()}: {out.getvalue()}"


async def _page(root: Path, steps: Any) -> None:
    from nicegui.testing.user_simulation import user_simulation

    from sim.app.server import AppConfig, attach
    ref = _reference()
    config = AppConfig(ref.scenario, ref.policy, seed=7, root=root, replications=6, workers=0)
    page_root, _ = attach(config)
    failure: Exception | None = None
    async with user_simulation(page_root) as user:
        await user.open("/")
        try:
            await steps(user)
        except Exception as e:  # noqa: BLE001 - re-raised once the app has stopped
            failure = e
    # A failure raised inside the context skips the app's shutdown (Starlette's lifespan runs it only
    # on a clean exit), so NiceGUI's own tasks outlive the test; its outbox loop can then miss the
    # final cancel (Python 3.11's asyncio.wait_for swallows a cancel that meets a finished wait) and
    # asyncio.run waits for it forever: a failed assertion used to hang the suite instead of failing.
    if failure is not None:
        raise failure


def _text(user: Any, marker: str) -> str:
    """The text of the visible elements with this marker ("" when none is visible)."""
    try:
        els = user.find(marker=marker).elements
    except AssertionError:
        return ""
    return " ".join(str(getattr(e, "text", "")) for e in els)


async def _until(user: Any, marker: str, want: str, seconds: float = 20) -> str:
    for _ in range(int(seconds / 0.05)):
        text = _text(user, marker)
        if want in text:
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{marker!r} never showed {want!r}; last: {text!r}")


def _set(user: Any, marker: str, value: Any) -> None:
    (el,) = user.find(marker=marker).elements
    with user.client:
        el.value = value


@pytest.mark.slow
def test_moving_the_threshold_reruns_the_same_worlds_and_shows_the_paired_difference(tmp_path):
    async def steps(user: Any) -> None:
        await _until(user, "status", "6 of 6 worlds (done)")
        assert "same setting on both sides" in _text(user, "diff:mqls")
        _set(user, "policy.mql.threshold", 95)
        await _until(user, "changes", "MQL threshold (points): 60 -> 95")
        await _until(user, "status", "6 of 6 worlds (done)")
        assert "lower" in _text(user, "diff:mqls")          # a much higher bar: fewer MQLs on every world
        explained = _text(user, "explanation:mqls")
        assert "What it counts: cohort leads that became MQLs" in explained and "MQL threshold" in explained
    _run(_page(_project(tmp_path), steps))


@pytest.mark.slow
def test_an_impossible_value_shows_the_fields_message_and_no_traceback(tmp_path):
    async def steps(user: Any) -> None:
        await _until(user, "status", "(done)")
        _set(user, "policy.mql.threshold", 20000)
        msg = await _until(user, "error:policy.mql.threshold", "must be <=")
        assert msg == "mql.threshold: must be <= 10000 (got 20000)"     # the CLI's words for the field
        assert "Fix the marked field" in _text(user, "status")
        _set(user, "policy.sla.targets.standard", "soon")
        await _until(user, "error:policy.sla.targets.standard", "expected a duration")
        _set(user, "policy.mql.threshold", 70)
        _set(user, "policy.sla.targets.standard", "4bh")
        await _until(user, "status", "6 of 6 worlds (done)")
        assert _text(user, "error:policy.mql.threshold") == ""
    _run(_page(_project(tmp_path), steps))


@pytest.mark.slow
def test_three_teams_join_submit_and_the_leaderboard_ranks_them(tmp_path):
    import httpx
    from nicegui import core
    from nicegui.testing.user import User

    async def steps(teacher: Any) -> None:
        await teacher.open("/classroom")
        teacher.find(marker="new-session").click()
        code = await _until(teacher, "code", "", seconds=5)
        assert len(code) == 6
        teacher.find(marker="open-round").click()
        await _until(teacher, "round-status", "Round 1 open")
        for team, threshold in (("Ravens", 40), ("Owls", 60), ("Hawks", 95)):
            student = User(httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test"))
            await student.open("/join")
            _set(student, "join-code", code.lower())
            _set(student, "team-name", team)
            student.find(marker="join").click()
            await _until(student, "student-goal", "Round 1 (open): maximise bookings subject to")
            _set(student, "lever:mql.threshold", 99999)
            student.find(marker="submit").click()
            await _until(student, "student-message", "must be <= 10000")          # the CLI's field message
            _set(student, "lever:mql.threshold", threshold)
            student.find(marker="submit").click()
            await _until(student, "student-status", f"submitted mql.threshold = {threshold}")
        await _until(teacher, "round-status", "3 of 3 team(s) submitted")
        teacher.find(marker="close-run").click()
        await _until(teacher, "round-status", "6 of 6 worlds")
        (table,) = teacher.find(marker="leaderboard").elements
        assert sorted(r["rank"] for r in table.rows) == ["1", "2", "3"]
        assert {r["team"] for r in table.rows} == {"Ravens", "Owls", "Hawks"}
        assert table.rows[0]["tie"] == "leader"
        teacher.find(marker="open-round").click()          # a team that submitted sees the next round
        await _until(student, "student-goal", "Round 2 (open)")
        await _until(student, "student-status", "choose your settings")
    _run(_page(_project(tmp_path), steps))


def test_with_nothing_changed_the_speed_table_says_same_setting_not_a_zero_difference(tmp_path):
    async def steps(user: Any) -> None:
        await _until(user, "status", "6 of 6 worlds (done)")
        (table,) = user.find(marker="speed").elements
        assert table.rows and all(r["sla_difference"] == "same setting on both sides" for r in table.rows)
        _set(user, "policy.mql.threshold", 95)
        await _until(user, "changes", "MQL threshold (points): 60 -> 95")
        await _until(user, "status", "6 of 6 worlds (done)")
        (table,) = user.find(marker="speed").elements
        assert table.rows and not any(r["sla_difference"] == "same setting on both sides" for r in table.rows)
    _run(_page(_project(tmp_path), steps))


def test_starting_from_a_scenario_runs_that_scenario_and_keeps_the_policy_on_the_levers(tmp_path):
    root = _project(tmp_path)
    text = (root / "scenarios" / "workshop.toml").read_text(encoding="utf-8")
    busier = re.sub(r"(?m)^leads_per_year\s*=.*$", "leads_per_year = 7777", text)
    assert busier != text
    (root / "scenarios" / "busier.toml").write_text(busier.replace('name = "workshop"', 'name = "busier"'),
                                                    encoding="utf-8")

    async def steps(user: Any) -> None:
        await _until(user, "status", "6 of 6 worlds (done)")
        _set(user, "policy.mql.threshold", 95)
        await _until(user, "changes", "MQL threshold (points): 60 -> 95")
        _set(user, "start", "scenarios/busier.toml")
        await _until(user, "start-note", "with the policy you had")
        await _until(user, "status", "(done)")
        (threshold,) = user.find(marker="policy.mql.threshold").elements
        (leads,) = user.find(marker="scenario.arrivals.leads_per_year").elements
        assert threshold.value == 95                          # not seed-example's 60
        assert leads.value == 7777                            # the started scenario's, not the old one's
        assert "nothing yet" in _text(user, "changes")        # the start is now the reference
    _run(_page(root, steps))


def test_stop_leaves_a_partial_result_that_is_never_shown_as_the_answer(tmp_path):
    async def steps(user: Any) -> None:
        await _until(user, "status", "6 of 6 worlds (done)")
        stop = next(iter(user.find(marker="stop").elements))
        assert not stop.enabled                               # nothing to stop
        _set(user, "replications", 100)
        await _until(user, "status", "of 100 worlds (running)")
        assert stop.enabled
        user.find(marker="stop").click()
        stopped = await _until(user, "status", "Stopped after")
        assert "partial result, not the answer" in stopped
        await asyncio.sleep(0.5)                              # worlds still arriving are dropped
        assert _text(user, "status") == stopped and not stop.enabled
        stop.enable()                                         # were it clicked again: it does not hide what happened
        user.find(marker="stop").click()
        assert _text(user, "status") == stopped
    _run(_page(_project(tmp_path), steps))


# ---------------------------------------------------------------------------- the session

def test_a_superseded_setting_is_never_shown_as_current():
    async def go() -> list[tuple[int, int]]:
        pool = WorldPool(0)
        s = WhatIf(pool, _reference(), seed=3, replications=8)
        seen: list[tuple[int, int]] = []

        def on_view(v: Any) -> None:
            seen.append((v.generation, s.generation))
        first = asyncio.ensure_future(s.run(on_view))
        await asyncio.sleep(0.02)
        s.set("policy.mql.threshold", 80)
        last = await s.run(on_view)
        await first
        pool.shutdown()
        assert last.done == 8 and last.generation == s.generation
        return seen
    seen = _run(go())
    assert seen and all(g == current for g, current in seen)


def test_stop_cancels_the_worlds_still_to_run_and_draws_nothing_after():
    async def go() -> tuple[list[int], Any, int]:
        pool = WorldPool(0)
        s = WhatIf(pool, _reference(), seed=3, replications=40)
        futures: list[Any] = []
        real = pool.submit
        pool.submit = lambda spec: futures.append(real(spec)) or futures[-1]  # type: ignore[method-assign]
        drawn: list[int] = []

        def on_view(v: Any) -> None:
            drawn.append(v.done)
            if v.done == 2:
                s.stop()
        last = await s.run(on_view)
        pool.shutdown()
        return drawn, last, sum(f.cancelled() for f in futures)
    drawn, last, cancelled = _run(go())
    assert drawn == [1, 2] and last.done == 2 and not last.finished
    assert cancelled >= 30                                    # queued worlds never ran


def test_a_failed_world_ends_the_run_as_done_with_the_failure_listed():
    """A world that fails (a broken worker) is listed; the run is finished once every world came
    back, not left 'running' because fewer than all were drawn."""
    from concurrent.futures import Future

    async def go() -> Any:
        pool = WorldPool(0)
        s = WhatIf(pool, _reference(), seed=3, replications=3)
        s.set("policy.mql.threshold", 80)
        real, calls = pool.submit, []

        def submit(spec: Any) -> Any:
            calls.append(spec)
            if len(calls) == 2:                 # one side of one world breaks
                f: Future[Any] = Future()
                f.set_exception(RuntimeError("worker died"))
                return f
            return real(spec)
        pool.submit = submit  # type: ignore[method-assign]
        v = await s.run()
        pool.shutdown()
        return v
    view = _run(go())
    assert view.done == 2 and view.total == 3 and view.finished
    assert len(view.errors) == 1 and "worker died" in view.errors[0]


def test_below_five_worlds_the_page_says_too_few_worlds_to_say():
    async def go() -> Any:
        pool = WorldPool(0)
        s = WhatIf(pool, _reference(), seed=3, replications=3)
        s.set("policy.mql.threshold", 80)
        v = await s.run()
        pool.shutdown()
        return v
    view = _run(go())
    defined = [c for c in view.cards if c.diff["status"] != "undefined"]
    assert defined and all(c.verdict == TOO_FEW and c.difference.startswith(TOO_FEW) for c in defined)


def test_a_policy_change_replays_only_the_changed_policy_on_the_cached_worlds():
    async def go() -> tuple[int, int]:
        pool = WorldPool(0)
        s = WhatIf(pool, _reference(), seed=3, replications=5)
        await s.run()
        calls = []
        real = pool.submit
        pool.submit = lambda spec: calls.append(len(spec.policies)) or real(spec)  # type: ignore[method-assign]
        s.set("policy.cadence.max_attempts", 5)
        await s.run()
        s.set("scenario.arrivals.leads_per_year", 6000)          # a new world: both sides, same seeds
        await s.run()
        pool.shutdown()
        return calls[:5], calls[5:]
    policy_change, world_change = _run(go())
    assert policy_change == [1] * 5
    assert len(world_change) == 5 and all(n == 1 for n in world_change)   # the reference world is cached too


def test_caps_on_leads_and_replications_are_refused_with_a_message():
    s = WhatIf(WorldPool(0), _reference(), seed=1)
    with pytest.raises(FieldErrors) as e:
        s.set("scenario.arrivals.leads_per_year", MAX_LEADS_PER_YEAR * 10)
    assert "at most 400,000 leads a year" in e.value.fields["scenario.arrivals.leads_per_year"]
    for bad in (0, 101, 2.5, "20", True):
        with pytest.raises(ConfigError, match="replications: must be a whole number from 1 to 100"):
            check_replications(bad)
    assert check_replications(20.0) == 20


def test_a_spike_lever_adds_a_campaign_when_the_scenario_has_none():
    ref = Setting(load_scenario("baseline", []), load_policy("seed-example", []))
    s = WhatIf(WorldPool(0), ref, seed=1)
    s.set("scenario.arrivals.spikes.0.multiplier", 3)
    (spike,) = s.changed.scenario.arrivals.spikes
    assert spike.multiplier == 3 and spike.start > ref.scenario.start_date


# ---------------------------------------------------------------------------- export

def test_exported_policy_and_scenario_round_trip_through_validate(tmp_path):
    from sim.app.export import write_toml
    s = WhatIf(WorldPool(0), _reference(), seed=1)
    s.set("policy.mql.threshold", 75)
    s.set("policy.sla.breach_action", "recycle")
    s.set("policy.reps", 2)
    s.set("scenario.arrivals.leads_per_year", 6000)
    pol = write_toml(s.changed.policy, "policy", tmp_path, "what-if")
    sc = write_toml(s.changed.scenario, "scenario", tmp_path, "what-if")
    assert pol.parent == tmp_path / "outputs" / "app-exports"
    for path, obj in ((pol, s.changed.policy), (sc, s.changed.scenario)):
        r = CliRunner().invoke(main, ["validate", str(path)])
        assert r.exit_code == 0, r.output
        back = type(obj).model_validate(tomllib.loads(path.read_text()))
        assert back.model_dump(mode="json") == obj.model_dump(mode="json")


# ---------------------------------------------------------------------------- guard rails

@pytest.mark.parametrize("attempt", ["../../etc/passwd", "/etc/passwd", "scenarios/../../etc/passwd",
                                     "outputs/../sim/cli.py", "~/.ssh/id_rsa", "C:\\Windows\\win.ini",
                                     "..\\..\\etc\\passwd", "sim/cli.py", "", "scenarios/\x00.toml",
                                     "scenarios/link/passwd"])
def test_the_browser_cannot_name_a_file_outside_the_projects_folders(tmp_path, attempt):
    root = _project(tmp_path)
    (root / "scenarios" / "link").symlink_to("/etc")
    with pytest.raises(ConfigError):
        safe_path(attempt, root)


def test_paths_inside_the_projects_folders_are_accepted(tmp_path):
    root = _project(tmp_path)
    assert safe_path("scenarios/workshop.toml", root) == (root / "scenarios" / "workshop.toml").resolve()
    assert safe_path("outputs/new-folder", root) == (root / "outputs" / "new-folder").resolve()


def test_start_choices_are_the_projects_scenarios_and_results_folders(tmp_path):
    from sim.app.starts import load_start, start_choices
    root = _project(tmp_path)
    (root / "outputs" / "run-1").mkdir()
    ref = _reference()
    (root / "outputs" / "run-1" / "manifest.json").write_text(
        '{"scenarios": {"w": %s}, "policies": {"seed-example": %s}, "baseline": "seed-example"}'
        % (ref.scenario.model_dump_json(), ref.policy.model_dump_json()))
    keys = [c.key for c in start_choices(root)]
    assert keys == ["scenarios/workshop.toml", "outputs/run-1"]
    assert load_start("outputs/run-1", root).scenario.horizon.window == ref.scenario.horizon.window
    assert load_start("scenarios/workshop.toml", root).scenario.name == "workshop"
    with pytest.raises(ConfigError):
        load_start("outputs/../../etc", root)


# ---------------------------------------------------------------------------- the command

def test_the_app_command_is_lazy_and_import_sim_cli_does_not_load_nicegui():
    code = "import sys, sim.cli; print('nicegui' in sys.modules, 'sim.app' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    r = CliRunner().invoke(main, ["app", "--help"])
    assert r.exit_code == 0 and "127.0.0.1" in r.output


def test_the_app_binds_to_localhost_by_default_and_warns_on_other_hosts(monkeypatch):
    import sim.app.server as server
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(server, "serve", lambda config, host, port: calls.append((host, port)))
    r = CliRunner().invoke(main, ["app", "workshop"])
    assert r.exit_code == 0 and calls[-1] == ("127.0.0.1", 8080)
    assert "http://127.0.0.1:8080/" in r.output and "warning" not in r.output
    r = CliRunner().invoke(main, ["app", "workshop", "--host", "0.0.0.0", "--port", "9000"])
    assert r.exit_code == 0 and calls[-1] == ("0.0.0.0", 9000)
    assert "warning: serving on 0.0.0.0" in r.output
    r = CliRunner().invoke(main, ["app", "no-such-scenario"])
    assert r.exit_code == 2 and "no scenario named" in r.output


@pytest.mark.slow
def test_the_results_folder_export_is_a_normal_results_folder_the_app_can_start_from(tmp_path):
    from sim.app.export import results_folder
    from sim.app.starts import load_start
    from sim.experiment.results import load_results
    root = _project(tmp_path)
    s = WhatIf(WorldPool(0), _reference(), seed=1)
    s.set("policy.mql.threshold", 80)
    out = root / "outputs" / "app-export"
    results_folder(s.changed.scenario.model_dump(mode="json"), s.reference.policy.model_dump(mode="json"),
                   s.changed.policy.model_copy(update={"name": "changed"}).model_dump(mode="json"), 5, 1, str(out))
    assert (out / "report.html").is_file()
    res = load_results(out)
    assert sorted(res.runs["policy"].unique()) == ["changed", "reference"] and res.runs["replication"].nunique() == 5
    start = load_start("outputs/app-export", root)
    assert start.policy.mql.threshold == 60 and start.scenario.horizon.window == s.reference.scenario.horizon.window
