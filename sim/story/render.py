"""A Story on the terminal: who the lead is, one summary row per policy side by side, then each
policy's timeline (time, what happened, why) one after the other. Numbers are formatted by
`sim.format`; names from files are escaped (a `[` would be read as rich markup)."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim import format as F
from sim.story.model import PolicyStory, Story

LABEL = {"arrival": "created", "engagement": "engagement", "mql": "MQL", "queued": "queued", "escalated": "escalated",
         "sla_missed": "SLA missed", "attempt": "attempt", "contact": "reached", "recycled": "recycled",
         "abandoned": "abandoned", "open_at_end": "run ended", "sal": "SAL", "rejected": "rejected",
         "disqualified": "not SQL", "sql": "SQL", "no_opportunity": "no opportunity", "opportunity": "opportunity",
         "open_opportunity": "still open", "won": "won", "lost": "lost", "account": "account",
         "reassigned": "reassigned", "competitor": "competitor", "competitor_found": "gone",
         "ae_queued": "AE queue", "ae_no_show": "no-show", "ae_meeting": "AE meeting", "ae_lost": "AE lost",
         "ae_waiting": "run ended"}
STYLE = {"mql": "bold", "recycled": "yellow", "sla_missed": "yellow", "escalated": "yellow", "rejected": "red",
         "won": "bold green", "lost": "red", "attempt": "", "engagement": "dim", "reassigned": "yellow",
         "competitor": "red", "competitor_found": "red", "ae_no_show": "yellow", "ae_lost": "red",
         "ae_meeting": "bold"}


def header(story: Story) -> str:
    f = story.facts
    where = f"scenario {story.scenario}, replication {story.replication}, seed {story.seed}"
    if story.settings:
        where += ", point " + str(story.point) + " (" + ", ".join(
            f"{k} = {F.setting(v)}" for k, v in story.settings.items()) + ")"
    cohort = "in the measured cohort" if story.in_cohort else "outside the measured cohort (not counted by the KPIs)"
    who = (f"{f['seniority']} at a {f['company_size']} {f['industry']} company in {f['region']}, {f['email_kind']} "
           f"email{', existing customer' if f['existing_customer'] else ''}{', open deal' if f['open_deal'] else ''}")
    truth = f"hidden truth: {'a buyer' if f['buyer'] else 'not a buyer'}, intent {f['intent']:.2f}"
    return (f"[bold]Lead {story.lead}[/bold] ({escape(where)})\n"
            f"created {f['arrival_at']} from {f['channel']}, {cohort}\n"
            f"{escape(who)}; {F.plural(int(f['engagement_events']), 'engagement event')}; {truth}")


def summary_table(story: Story) -> Table:
    """One column per policy: where the lead went."""
    t = Table(title=f"Lead {story.lead}: where it went under each policy")
    t.add_column("")
    for p in story.policies:
        t.add_column(escape(p.policy), justify="right")

    def row(label: str, fn) -> None:       # type: ignore[no-untyped-def]
        t.add_row(label, *[fn(p) for p in story.policies])

    row("MQL", lambda p: (next(e.at for e in p.events if e.kind == "mql") if p.mql else "no"))
    row("tier", lambda p: p.tier or "-")
    row("MQL episodes", lambda p: F.count(p.episodes))
    row("attempts", lambda p: F.count(p.attempts))
    row("recycles", lambda p: F.count(p.recycles))
    row("final state", lambda p: p.state + (f" ({p.reason})" if p.reason else ""))
    row("amount", lambda p: F.money(p.amount) if p.amount else "-")
    return t


def timeline(p: PolicyStory, story: Story, engagement: bool = True) -> Table:
    """The policy's events in time order."""
    t = Table(title=f"{escape(p.policy)}: lead {story.lead}", title_justify="left", show_lines=False)
    t.add_column("when", no_wrap=True)
    t.add_column("what", no_wrap=True)
    t.add_column("why / detail")
    for e in p.events:
        if e.kind == "engagement" and not engagement:
            continue
        style = STYLE.get(e.kind, "")
        t.add_row(e.at, LABEL.get(e.kind, e.kind), escape(e.text), style=style or None)
    if not p.mql and p.why_not_mql:
        t.caption = escape(f"Never an MQL: {p.why_not_mql}.")
    return t


def print_story(con: Console, story: Story, engagement: bool = True) -> None:
    con.print(header(story))
    con.print(summary_table(story))
    for p in story.policies:
        con.print(timeline(p, story, engagement))
    for line in story.checked:
        con.print(f"[dim]checked: {escape(line)}[/dim]")
