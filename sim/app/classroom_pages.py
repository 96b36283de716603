"""The classroom pages over `sim.classroom`: a facilitator console (/classroom: session code,
rounds started, paused and closed, the levers and the constraint of the round, the live
leaderboard, the debrief figure as PNG/PDF) and a student page (/join: the code, a team name, the
levers this round allows, submit). Every round's worlds run on the app's shared pool, and the
leaderboard is redrawn as each world finishes.
"""
from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from nicegui import ui

from sim.app.controls import LEVERS, control
from sim.app.pool import WorldPool
from sim.app.server import AppConfig

OBJECTIVES = ("bookings", "pipeline", "won", "sqls", "mql_to_sql_rate", "mql_precision")
MAX_SESSIONS = 20          # classroom sessions one server keeps


@dataclass
class Classrooms:
    """The server's classroom sessions by join code (kept while the server runs)."""

    sessions: dict[str, Any] = field(default_factory=dict)

    def new(self, config: AppConfig) -> Any:
        from sim.classroom.session import ClassroomSession
        if len(self.sessions) >= MAX_SESSIONS:
            self.sessions.pop(next(iter(self.sessions)))          # the oldest goes
        s = ClassroomSession(config.scenario, config.policy, replications=max(2, min(config.replications, 50)),
                             seed=config.seed)
        self.sessions[s.code] = s
        return s

    def find(self, code: str) -> Any | None:
        return self.sessions.get((code or "").strip().upper())


def t(name: str) -> str:
    return f'data-test="{name}"'


def policy_levers() -> list[str]:
    return [p.split(".", 1)[1] for _, p in LEVERS if p.startswith("policy.")]


def _num(x: float, kind: str) -> str:
    from sim import format as fmt
    return "n/a" if not math.isfinite(x) else fmt.value(x, kind)


def leaderboard_rows(board: Any) -> list[dict[str, str]]:
    """Table rows of a Leaderboard: rank, team, objective with interval, constraint, tie mark."""
    from sim import format as fmt
    from sim.format import kpi_format
    _, kind, unit = kpi_format(board.objective)
    out = []
    for r in board.rows:
        ci = fmt.cell({"mean": r.estimate, "lower": r.lower, "upper": r.upper, "n": r.worlds, "status": r.status},
                      kind, unit)
        out.append({"rank": str(r.rank), "team": r.team, "objective": ci,
                    "constraint": r.constraint or "-",
                    "tie": "leader" if r.leader else ("cannot be told apart from the leader" if r.tied_with_leader
                                                      else "behind the leader"),
                    "settings": ", ".join(f"{k} = {v}" for k, v in r.settings.items()) or "starting policy"})
    return out


def facilitator(config: AppConfig, pool: WorldPool, rooms: Classrooms) -> None:
    state: dict[str, Any] = {"session": None}
    ui.label("Classroom: facilitator").classes("text-h5")
    code = ui.label("").classes("text-h4 text-primary").props(t("code")).mark("code")
    with ui.row().classes("items-end gap-4"):
        levers = ui.select(policy_levers(), multiple=True, value=["mql.threshold"], label="Levers teams may change") \
            .classes("w-96").props(f"use-chips {t('levers')}").mark("levers")
        objective = ui.select(list(OBJECTIVES), value="bookings", label="Maximise").classes("w-40").props(t("objective")).mark("objective")
        constraint = ui.input("Constraint", value="sla_compliance_standard>=0.9").classes("w-72").props(t("constraint")).mark("constraint")
    message = ui.label("").classes("text-negative").props(t("facilitator-message")).mark("facilitator-message")
    status = ui.label("Start a session: students join at /join with its code").props(t("round-status")).mark("round-status")
    table = ui.table(columns=[{"name": k, "label": lb, "field": k, "align": "left"} for k, lb in
                              (("rank", "Rank"), ("team", "Team"), ("objective", "Objective (95% interval)"),
                               ("constraint", "Constraint"), ("tie", "Versus the leader"), ("settings", "Settings"))],
                     rows=[], row_key="team").props(f"dense flat {t('leaderboard')}").mark("leaderboard").classes("w-full")
    buttons = ui.row().classes("gap-2")
    debrief = ui.column().classes("w-full")

    def guarded(fn: Callable[[Any], None]) -> Callable[[], None]:
        def run() -> None:
            s = state["session"]
            if s is None:
                message.text = "start a session first"
                return
            try:
                fn(s)
                message.text = ""
            except Exception as e:  # noqa: BLE001 - ValueError, ConfigError: their message, no traceback
                message.text = str(e)
            refresh()
        return run

    def refresh() -> None:
        s = state["session"]
        if s is None:
            return
        rnd = s.current_round
        teams = s.teams
        if rnd is None:
            status.text = f"{len(teams)} team(s) joined: {', '.join(teams) or 'none yet'}; no round yet"
        else:
            status.text = (f"Round {rnd.number} {rnd.state.value}; levers {', '.join(rnd.levers)}; "
                           f"{len(rnd.submissions)} of {len(teams)} team(s) submitted"
                           + (" (simulating...)" if s.running else ""))
        try:
            board = s.standings()
        except ValueError:
            return
        if board.worlds:
            table.rows = leaderboard_rows(board)
            table.update()
            status.text += f"; {board.worlds} of {board.worlds_total} worlds"

    def new_session() -> None:
        s = rooms.new(config)
        state["session"] = s
        code.text = s.code
        refresh()

    async def close_and_run() -> None:
        s = state["session"]
        if s is None:
            message.text = "start a session first"
            return
        try:
            if s.state.value in ("open", "paused"):
                s.close_round()
        except ValueError as e:
            message.text = str(e)
            return
        loop = asyncio.get_running_loop()

        def on_world(_: Any) -> None:
            loop.call_soon_threadsafe(refresh)
        try:
            await asyncio.to_thread(s.run_round, map_worlds=pool.map_unordered, on_world=on_world)
        except (RuntimeError, ValueError) as e:
            message.text = str(e)
        refresh()

    def open_round(s: Any) -> None:
        s.open_round(list(levers.value or []), constraint.value.strip() or None, objective.value)

    def export_debrief() -> None:
        from sim.classroom.debrief import debrief_figure
        s = state["session"]
        if s is None:
            return
        try:
            rnd = s.current_round
            files = debrief_figure(s, config.root / "outputs" / f"classroom-{s.code}-round{rnd.number}")
        except ValueError as e:
            message.text = str(e)
            return
        debrief.clear()
        with debrief:
            png = next(f for f in files if f.suffix == ".png")
            ui.image(png).classes("w-full").style("max-width: 1100px").props(f"no-transition no-spinner {t('debrief')}").mark("debrief")
            with ui.row():
                for f in files:
                    ui.button(f"Download {f.suffix[1:].upper()}", on_click=lambda f=f: ui.download.file(f)) \
                        .props("dense outline")

    buttons.move(target_index=2)
    with buttons:
        ui.button("New session", on_click=new_session).props(t("new-session")).mark("new-session")
        ui.button("Open round", on_click=guarded(open_round)).props(t("open-round")).mark("open-round")
        ui.button("Pause", on_click=guarded(lambda s: s.pause())).props(f"outline {t('pause')}").mark("pause")
        ui.button("Resume", on_click=guarded(lambda s: s.resume())).props(f"outline {t('resume')}").mark("resume")
        ui.button("Close round and run", on_click=close_and_run).props(t("close-run")).mark("close-run")
        ui.button("Debrief figure", on_click=export_debrief).props(f"outline {t('debrief-button')}").mark("debrief-button")
    ui.timer(1.0, refresh)


def student(config: AppConfig, rooms: Classrooms) -> None:
    state: dict[str, Any] = {"session": None, "team": None, "round": None}
    ui.label("Classroom: join your team").classes("text-h5")
    with ui.row().classes("items-end gap-4") as join_row:
        code = ui.input("Session code").props(t("join-code")).mark("join-code")
        team = ui.input("Team name").props(t("team-name")).mark("team-name")
        join_button = ui.button("Join").props(t("join")).mark("join")
    message = ui.label("").classes("text-negative").props(t("student-message")).mark("student-message")
    goal = ui.label("").classes("text-subtitle1").props(t("student-goal")).mark("student-goal")
    info = ui.label("").props(t("student-status")).mark("student-status")
    form = ui.column()
    inputs: dict[str, Any] = {}

    def draw_form() -> None:
        s = state["session"]
        rnd = s.current_round if s else None
        if rnd is None:
            goal.text = ""
            info.text = f"Team {state['team']}: waiting for the facilitator to open a round"
            return
        from sim.measure.registry import kpi
        goal.text = f"Round {rnd.number} ({rnd.state.value}): maximise {kpi(rnd.objective).label.lower()}" + \
            (f" subject to {rnd.constraint}" if rnd.constraint else "")
        if state["round"] == rnd.number:
            return
        state["round"] = rnd.number
        info.text = f"Team {state['team']}: choose your settings and submit (you may resubmit until the round closes)"
        form.clear()
        inputs.clear()
        base = s.base_policy.model_dump(mode="json")
        with form:
            for lever in rnd.levers:
                c = control("", f"policy.{lever}")
                from sim.app.controls import value_at
                v = value_at(base, lever)
                if c.widget == "select":
                    el: Any = ui.select(list(c.options), value=v, label=c.label)
                elif c.widget == "switch":
                    el = ui.switch(c.label, value=bool(v))
                elif c.widget == "duration":
                    el = ui.input(c.label, value=str(v))
                else:
                    el = ui.number(c.label, value=v if v is not None else s.scenario.sales.reps)
                el.props(t(f"lever:{lever}")).mark(f"lever:{lever}").tooltip(c.help)
                inputs[lever] = el
            ui.button("Submit", on_click=submit).props(t("submit")).mark("submit")

    def submit() -> None:
        s = state["session"]
        values = {}
        for lever, el in inputs.items():
            v = el.value
            values[lever] = int(v) if isinstance(v, float) and v.is_integer() else v
        try:
            s.submit(state["team"], values)
        except Exception as e:  # noqa: BLE001 - ValueError / ConfigError: the message, no traceback
            message.text = str(e)
            return
        message.text = ""
        info.text = f"Team {state['team']}: submitted " + ", ".join(f"{k} = {v}" for k, v in values.items())

    def join() -> None:
        s = rooms.find(code.value)
        if s is None:
            message.text = "no session with this code: check it with your facilitator"
            return
        try:
            s.join(team.value)
        except ValueError as e:
            message.text = str(e)
            return
        message.text = ""
        state.update(session=s, team=team.value.strip())
        join_row.set_visibility(False)
        draw_form()

    join_button.on_click(join)

    def poll() -> None:      # a new round (or a paused / closed one) shows without a reload
        if state["session"] is not None:
            draw_form()
    ui.timer(1.0, poll)


def pages(config: AppConfig, pool: WorldPool) -> dict[str, Callable[[], None]]:
    """The classroom routes; one Classrooms for the server (call once per server)."""
    rooms = Classrooms()
    return {"/classroom": lambda: facilitator(config, pool, rooms), "/join": lambda: student(config, rooms)}
