"""The what-if page: levers on the left, the paired answer on the right (KPI cards, funnel, load
over time, speed to lead by tier), updated as each world finishes. Drawing only: the numbers come
from `sim.app.summary`, the state from `sim.app.session`.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from nicegui import ui

from sim.app.controls import Control, controls
from sim.app.session import MAX_REPLICATIONS, FieldErrors, Setting, WhatIf, check_replications
from sim.app.starts import Start, load_start, start_choices
from sim.app.summary import TOO_FEW, UNDEFINED, Card, View
from sim.config.errors import ConfigError

SERIES_LABELS = {"queue_at_midnight": "MQLs waiting at midnight",
                 "oldest_wait_business_hours": "Oldest wait (business hours) at midnight"}
TIER_COLUMNS = [("tier", "Tier"), ("reference_1h", "Touched within 1 business hour: reference"),
                ("changed_1h", "changed"), ("reference_sla", "SLA met: reference"), ("changed_sla", "changed"),
                ("sla_difference", "SLA met: difference")]
VERDICT_COLOUR = {True: "text-positive", False: "text-negative", None: "text-grey-8"}
SAME = "same setting on both sides"
START_NOTE = ("A scenario starts with the policy you have now (your changes included); a results folder "
              "brings its own scenario and baseline policy.")


def explain(card: Card, session: WhatIf, view: View) -> str:
    """'Explain this number' in plain words: what it counts, and why it moved (or may not have)."""
    what = card.help or card.label
    changes = session.describe_changes()
    why = ("You changed " + "; ".join(changes) + ".") if changes else "Nothing is changed yet: both sides are the " \
                                                                     "reference setting."
    if card.verdict == UNDEFINED:
        claim = "Neither side has anything to count here on these worlds (for example no MQL of this tier)."
    elif card.verdict == TOO_FEW:
        claim = ("Too few worlds (or too few leads in them) to say whether it moved: the interval needs at least "
                 "5 worlds and, for a share, 30 items.")
    elif card.verdict == "no clear difference":
        claim = (f"Over the same {view.done} worlds the change moved it by {card.difference}; that interval "
                 "includes zero, so this could be luck.")
    else:
        claim = (f"Over the same {view.done} worlds (each side met the same leads) it is {card.verdict} by "
                 f"{card.difference}: the 95% interval excludes zero.")
    return f"What it counts: {what}. {why} {claim}"


def put(label: ui.label, text: str) -> None:
    """Set a label's text only when it changed (an unchanged text sends nothing to the browser)."""
    if label.text != text:
        label.text = text


def t(name: str) -> str:
    """The element's name for the browser tests (`[data-test="..."]`); `.mark()` names it for the
    simulated user."""
    return f'data-test="{name}"'


class WhatIfPage:
    """The page of one browser session."""

    def __init__(self, session: WhatIf, root: Path) -> None:
        self.session = session
        self.root = root
        self.inputs: dict[str, Any] = {}
        self.errors: dict[str, ui.label] = {}
        self.view: View | None = None
        self._task: asyncio.Task[None] | None = None
        self.labels: dict[str, ui.label] = {}            # the cards' texts, rewritten by `fill`
        self.drawn: tuple[list[str], list[str]] = ([], [])   # the cards and problems on the page
        self._loading = False                             # levers being set by the page, not the user

    # ------------------------------------------------------------------ layout
    def build(self) -> None:
        ui.add_css(".stale { opacity: 0.35; transition: opacity 0.2s; }")
        with ui.row().classes("w-full items-center gap-4 flex-wrap"):
            ui.label("funnelsim what-if").classes("text-h5")
            self.start = ui.select({c.key: c.label for c in start_choices(self.root)}, label="Start from",
                                   on_change=lambda e: self.start_from(e.value)).classes("w-72").props("dense")
            self.start.mark("start").props(t("start"))
            self.start.tooltip(START_NOTE)
            self.reps = ui.number("Worlds", value=self.session.replications, min=1, max=MAX_REPLICATIONS, step=1,
                                  on_change=lambda e: self.set_replications(e.value)).classes("w-24").props("dense")
            self.reps.mark("replications").props(t("replications"))
            ui.button("Make this the reference", on_click=self.make_reference).props("outline dense").mark("rebase").props(t("rebase"))
            self.stop_button = ui.button("Stop", on_click=self.stop).props("outline dense color=negative") \
                .mark("stop").props(t("stop")) \
                .tooltip("Stop the worlds still to run: what is shown stays partial, marked as not the answer")
            ui.label("Export:").classes("text-grey-8 q-ml-md")
            ui.button("Policy TOML", on_click=lambda: self.export_toml("policy")).props("dense flat").mark("export-policy").props(t("export-policy"))
            ui.button("Scenario TOML", on_click=lambda: self.export_toml("scenario")).props("dense flat").mark("export-scenario").props(t("export-scenario"))
            ui.button("Results folder + report", on_click=self.export_results).props("dense flat").mark("export-results").props(t("export-results"))
            self.status = ui.label("").mark("status").props(t("status"))
        self.export_note = ui.label("").classes("text-caption").mark("export-note").props(t("export-note"))
        self.start_note = ui.label("").classes("text-caption").mark("start-note").props(t("start-note"))
        self.reps_error = ui.label("").classes("text-negative text-caption").mark("replications-error").props(t("replications-error"))
        self.progress = ui.linear_progress(value=0, show_value=False).props("instant-feedback").mark("progress").props(t("progress"))
        with ui.row().classes("w-full no-wrap items-start gap-6"):
            with ui.column().classes("w-80 shrink-0 gap-1"):
                self.levers()
            with ui.column().classes("grow gap-2").style("min-width: 0") as self.results:
                self.answer()
                with ui.row().classes("w-full gap-2 no-wrap"):
                    self.funnel = ui.echart(self.funnel_options(None)).classes("w-1/2 h-64").mark("funnel").props(t("funnel"))
                    self.load = ui.echart(self.series_options(None)).classes("w-1/2 h-64").mark("load").props(t("load"))
                self.tiers()
        ui.timer(0.05, self.rerun, once=True)      # the first answer, once the page is connected

    def levers(self) -> None:
        group = None
        for c in controls():
            if c.group != group:
                group = c.group
                ui.label(group).classes("text-subtitle1 text-weight-medium q-mt-sm")
            self.lever(c)

    def lever(self, c: Control) -> None:
        value = self.session.value(c.path)
        hint = c.help + (f" (range {c.range_text})" if c.range_text else "")

        def changed(e: Any, path: str = c.path) -> None:
            v = e.value
            if isinstance(v, float) and v.is_integer():      # a number box gives 90.0 for 90
                v = int(v)
            self.on_change(path, v)

        with ui.row().classes("w-full items-center no-wrap gap-1"):
            if c.widget == "select":
                el: Any = ui.select(list(c.options), value=value, label=c.label, on_change=changed)
            elif c.widget == "switch":
                el = ui.switch(c.label, value=bool(value), on_change=changed)
            elif c.widget == "duration":
                el = ui.input(c.label, value=str(value or ""), on_change=changed).props("debounce=400")
            else:
                el = ui.number(c.label, value=value, step=1 if c.widget == "integer" else None,
                               on_change=changed).props("debounce=600")   # Enter or Tab sends at once
            el.classes("grow").props("dense").mark(c.path).props(t(c.path))
            with ui.icon("help_outline").classes("text-grey-6 cursor-help"):
                ui.tooltip(hint).classes("text-body2")
        self.inputs[c.path] = el
        self.errors[c.path] = ui.label("").classes("text-negative text-caption").mark(f"error:{c.path}").props(t(f"error:{c.path}"))
        self.errors[c.path].set_visibility(False)

    @ui.refreshable_method
    def answer(self) -> None:
        """The cards, built when the set of cards changes; each later world only rewrites their
        texts (`fill`), which costs the server and the browser far less than building them again."""
        self.labels = {}
        view = self.view
        if view is None or not view.cards:
            ui.label("Waiting for the first worlds...").classes("text-grey-7").mark("waiting").props(t("waiting"))
            return
        self.labels["changes"] = ui.label(self.changes_text()).classes("text-body1").mark("changes").props(t("changes"))
        with ui.element("div").classes("grid gap-2 w-full").style(
                "grid-template-columns: repeat(auto-fill, minmax(230px, 1fr))"):
            for c in view.cards:
                self.card(c, view)
        for err in view.errors[:3]:
            ui.label(err).classes("text-negative")

    def changes_text(self) -> str:
        changes = self.session.describe_changes()
        return "Changed: " + ("; ".join(changes) if changes else "nothing yet (move a lever on the left)")

    def card_texts(self, c: Card, view: View) -> dict[str, str]:
        """What a card says: both sides, the difference (or "same setting") and the explanation."""
        if not self.session.describe_changes():
            text = SAME
        elif c.verdict in (TOO_FEW, UNDEFINED):
            text = c.difference
        else:
            text = f"{c.difference} ({c.verdict})"
        return {"ref": f"reference {c.reference}", "new": f"changed {c.changed}", "diff": text,
                "explanation": explain(c, self.session, view)}

    def fill(self, view: View) -> None:
        """Rewrite the texts of the cards already on the page (same cards as the last view)."""
        put(self.labels["changes"], self.changes_text())
        for c in view.cards:
            for part, text in self.card_texts(c, view).items():
                put(self.labels[f"{part}:{c.name}"], text)
            colour = VERDICT_COLOUR[c.better]
            diff = self.labels[f"diff:{c.name}"]
            if colour not in diff.classes:
                diff.classes(remove=" ".join(VERDICT_COLOUR.values()), add=colour)

    def speed_rows(self) -> list[dict[str, str]]:
        rows = self.view.speed if self.view else []
        if not self.session.describe_changes():     # both sides are one setting: no difference to show
            rows = [{**r, "sla_difference": SAME} for r in rows]
        return rows

    @ui.refreshable_method
    def tiers(self) -> None:
        ui.label("Speed to lead by tier").classes("text-subtitle1")
        self.speed_table = ui.table(columns=[{"name": k, "label": lb, "field": k, "align": "left"}
                                             for k, lb in TIER_COLUMNS],
                                    rows=self.speed_rows(), row_key="tier").props("dense flat").classes(
                                        "w-full").mark("speed").props(t("speed"))

    def card(self, c: Card, view: View) -> None:
        texts = self.card_texts(c, view)
        with ui.card().classes("q-pa-sm gap-0").mark(f"card:{c.name}").props(t(f"card:{c.name}")):
            with ui.row().classes("w-full items-center no-wrap"):
                ui.label(c.label).classes("text-weight-medium grow")
                with ui.button(icon="help_outline").props("flat dense round size=sm").mark(f"explain:{c.name}").props(t(f"explain:{c.name}")):
                    with ui.menu().classes("q-pa-md").style("max-width: 320px"):
                        self.labels[f"explanation:{c.name}"] = ui.label(texts["explanation"]).classes("text-body2") \
                            .mark(f"explanation:{c.name}").props(t(f"explanation:{c.name}"))
            self.labels[f"ref:{c.name}"] = ui.label(texts["ref"]).classes("text-caption text-grey-8")
            self.labels[f"new:{c.name}"] = ui.label(texts["new"]).classes("text-caption")
            self.labels[f"diff:{c.name}"] = ui.label(texts["diff"]).classes(
                f"text-body1 text-weight-bold {VERDICT_COLOUR[c.better]}").mark(f"diff:{c.name}").props(t(f"diff:{c.name}"))

    @staticmethod
    def funnel_options(view: View | None) -> dict[str, Any]:
        funnel = view.funnel if view else []
        return {"animation": False, "title": {"text": "Funnel (mean per world)", "textStyle": {"fontSize": 13}},
                "tooltip": {"trigger": "axis"}, "legend": {"data": ["reference", "changed"], "bottom": 0},
                "xAxis": {"type": "category", "data": [f[0].replace(" (cohort)", "") for f in funnel],
                          "axisLabel": {"interval": 0, "fontSize": 11}},
                "yAxis": {"type": "log", "min": 1},
                "series": [{"name": "reference", "type": "bar", "data": [round(f[1], 1) for f in funnel]},
                           {"name": "changed", "type": "bar", "data": [round(f[2], 1) for f in funnel]}]}

    @staticmethod
    def series_options(view: View | None) -> dict[str, Any]:
        name = "queue_at_midnight"
        ref, new = view.series.get(name, ([], [])) if view else ([], [])
        return {"animation": False, "title": {"text": f"{SERIES_LABELS[name]} (mean over worlds)",
                                              "textStyle": {"fontSize": 13}},
                "tooltip": {"trigger": "axis"}, "legend": {"data": ["reference", "changed"], "bottom": 0},
                "xAxis": {"type": "category", "name": "day", "data": view.days if view else []},
                "yAxis": {"type": "value"},
                "series": [{"name": "reference", "type": "line", "showSymbol": False, "data": ref},
                           {"name": "changed", "type": "line", "showSymbol": False, "data": new}]}

    # ------------------------------------------------------------------ events
    def show_errors(self, errors: dict[str, str]) -> None:
        for path, label in self.errors.items():
            msg = errors.get(path, "")
            label.text = msg
            label.set_visibility(bool(msg))
        other = [m for p, m in errors.items() if p not in self.errors]
        if other:
            ui.notify("; ".join(other), type="negative")

    def on_change(self, path: str, value: Any) -> None:
        if self._loading:
            return
        try:
            self.session.set(path, value)
        except FieldErrors as e:
            self.show_errors(e.fields)
            self.session.cancel()
            self.session.generation += 1          # whatever is still running is now stale
            self.status.text = "Fix the marked field: nothing is run until every field is valid"
            self.results.classes(add="stale")
            return
        self.show_errors({})
        self.rerun()

    def set_replications(self, value: Any) -> None:
        try:
            self.session.replications = check_replications(value)
        except ConfigError as e:
            self.reps_error.text = e.problems[0]
            return
        self.reps_error.text = ""
        self.rerun()

    def make_reference(self) -> None:
        self.session.make_reference()
        self.rerun()

    def rerun(self) -> None:
        self.results.classes(add="stale")
        self.status.text = f"Running {self.session.replications} worlds..."
        self.progress.value = 0
        self.stop_button.enable()          # enabled only while worlds are running
        from nicegui import background_tasks
        self._task = background_tasks.create(self._run(), name="funnelsim-what-if")   # no element: nothing to be deleted

    def stop(self) -> None:
        """Drop the worlds still to run. What is on the page stays, dimmed and marked partial: it is
        never shown as the answer of the setting."""
        task = self._task
        kept = self.status.text.startswith(("Stopped after", "Fix the marked field"))   # says more than we would
        if task is None or task.done():
            if not kept:
                self.status.text = "Nothing is running"
            return
        view = self.session.stop()
        task.cancel()                     # a run not yet started never starts
        self.stop_button.disable()
        self.results.classes(add="stale")
        if kept:
            return
        done, total = (view.done, view.total) if view is not None else (0, self.session.replications)
        if done >= total:                 # the view of the run before: this one had not drawn a world yet
            done = 0
        self.status.text = f"Stopped after {done} of {total} worlds: a partial result, not the answer"

    async def _run(self) -> None:
        await self.session.run(self.show)

    async def show(self, view: View) -> None:
        """Draw a view now: the refreshes are awaited (run in this step, not as tasks of their own
        for later), so the status and the cards of one world reach the page in the same update."""
        if view.generation != self.session.generation:
            return                                           # never draw a superseded setting
        self.view = view
        self.progress.value = view.done / max(1, view.total)
        state = "done" if view.finished else "running"
        if view.finished and view.done < view.total:      # worlds failed: the errors are listed below
            state = f"done; {view.total - view.done} failed, see below"
        if view.finished:
            self.stop_button.disable()
        self.status.text = f"{view.done} of {view.total} worlds ({state})"
        self.results.classes(remove="stale")
        drawn = ([c.name for c in view.cards], view.errors[:3])
        if drawn != self.drawn or not self.labels:
            self.drawn = drawn
            await self.answer.refresh()
        else:
            self.fill(view)
        rows = self.speed_rows()
        if rows != self.speed_table.rows:
            self.speed_table.rows = rows
        for chart, options in ((self.funnel, self.funnel_options(view)), (self.load, self.series_options(view))):
            chart.options.clear()
            chart.options.update(options)
            chart.update()

    def start_from(self, key: str) -> None:
        current = (self.session.changed or self.session.reference).policy
        try:
            start: Start = load_start(key, self.root, current)
        except ConfigError as e:
            ui.notify(str(e), type="negative")
            return
        self.session.start(Setting(start.scenario, start.policy))
        self._loading = True          # the levers show the new start: not changes to it
        try:
            for path, el in self.inputs.items():
                el.set_value(self.session.value(path))
        finally:
            self._loading = False
        self.show_errors({})
        kept = key.startswith("scenarios/")
        self.start_note.text = (f"Started from {key} with the policy you had (your changes included)" if kept else
                                f"Started from {key} with its own baseline policy {start.policy.name!r}")
        self.rerun()

    def export_toml(self, kind: str) -> None:
        from sim.app.export import toml_text, write_toml
        setting = self.session.changed or self.session.reference
        obj = setting.scenario if kind == "scenario" else setting.policy
        if kind == "policy":
            obj = obj.model_copy(update={"name": f"{self.session.reference.scenario.name}-what-if"})
        path = write_toml(obj, kind, self.root, obj.name)
        rel = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        self.export_note.text = f"written to {rel}"
        ui.download.content(toml_text(obj, kind), path.name, "application/toml")

    async def export_results(self) -> None:
        from sim.app.export import OUTPUTS, results_folder, slug, stamp
        s = self.session
        setting = s.changed or s.reference
        out = self.root / OUTPUTS / f"app-{slug(setting.scenario.name)}-{stamp()}"
        self.export_note.text = f"running {s.replications} worlds into {out.name}..."
        try:
            await s.pool.run(results_folder, setting.scenario.model_dump(mode="json"),
                             s.reference.policy.model_dump(mode="json"),
                             setting.policy.model_copy(update={"name": "changed"}).model_dump(mode="json"),
                             s.replications, s.seed, str(out))
        except Exception as e:  # noqa: BLE001 - shown, never a traceback
            self.export_note.text = f"could not write the results folder: {e}"
            return
        rel = out.relative_to(self.root) if out.is_relative_to(self.root) else out
        self.export_note.text = f"results folder: {rel} (report: {rel}/report.html)"

