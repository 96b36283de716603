"""`funnelsim explain RESULTS_DIR LEAD_ID`: why one lead went where it went, under each policy of a
saved results folder. The replication holding the lead is re-run from the folder's manifest and
checked against the saved KPIs first; nothing is written. Bad input (not a complete results folder,
an unknown scenario, point, replication or policy, a lead id outside the world, a re-run that does
not reproduce the saved results) exits with code 2 and one message."""
from __future__ import annotations

from pathlib import Path

import click

from sim.commands.common import fail


@click.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.argument("lead_id", type=int)
@click.option("--replication", "-r", type=int, default=0, show_default=True,
              help="the replication (world) that holds the lead")
@click.option("--scenario", help="the scenario, when the folder has several")
@click.option("--point", type=int, help="a sweep's point (default: the first)")
@click.option("--policy", "-p", "policies", multiple=True, help="only these policies (repeatable; default: all)")
@click.option("--no-engagement", "quiet_events", is_flag=True,
              help="leave engagement events out of the timelines (the JSON keeps them)")
@click.option("--json", "as_json", is_flag=True, help="print the story as one JSON object on stdout and nothing else")
def explain(results_dir: Path, lead_id: int, replication: int, scenario: str | None, point: int | None,
            policies: tuple[str, ...], quiet_events: bool, as_json: bool) -> None:
    """Why did lead LEAD_ID go there: its story under each policy of RESULTS_DIR.

    The score after every engagement event and the rule that made it an MQL (or the gate or
    threshold that stopped it), its SLA tier and deadline, the queue it met and the wait to its
    first touch, each attempt (which rep, reached or not, at what contact probability), SLA breach
    and breach action, recycle and re-MQL, and the outcome with its reason code. LEAD_ID is the
    lead's index in the replication's world (the `lead` column of `--events` tables). The
    replication is re-run from the folder's manifest and checked against the saved KPIs."""
    from sim.commands.report import check_folder
    from sim.story.folder import StoryError
    from sim.story.folder import explain as tell
    res, problem = check_folder(results_dir)
    if problem or res is None:
        fail(problem or f"{results_dir}: no results")
    try:
        story = tell(res, lead_id, scenario=scenario, point=point, replication=replication,
                     policies=list(policies) or None)
    except StoryError as e:
        fail(e)
    if as_json:
        from sim.experiment.store import dumps
        click.echo(dumps(story.to_dict()))
        return
    from sim.present import console
    from sim.story.render import print_story
    print_story(console(), story, engagement=not quiet_events)
