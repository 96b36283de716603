"""`funnelsim app`: the live what-if app in a browser (and the classroom pages)."""
from __future__ import annotations

from pathlib import Path

import click

from sim.commands.common import DEFAULT_SEED, fail

LOCAL = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.argument("scenario", default="workshop")
@click.option("--policy", "-p", "policy", default="seed-example", show_default=True,
              help="reference policy: a name or a .toml file")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on; 0.0.0.0 serves a classroom network (prints a warning)")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="port to listen on")
@click.option("--replications", "-n", type=click.IntRange(1, 100), default=20, show_default=True,
              help="worlds per answer (each setting meets the same ones)")
@click.option("--workers", type=click.IntRange(0, 256), default=None,
              help="worker processes shared by every browser (default: one per core)")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True,
              help="root random seed")
def app(scenario: str, policy: str, host: str, port: int, replications: int, workers: int | None, seed: int) -> None:
    """Serve the live what-if app for SCENARIO in a browser (prints the URL, opens nothing).

    Move a lever and every KPI is re-estimated on the same worlds, with the paired difference and
    its interval, updated as each world finishes. SCENARIO and --policy are names (`funnelsim
    list`) or .toml files. Needs the extra: pip install 'funnelsim[app]'."""
    from sim.config.loading import ConfigError
    from sim.inputs import load_policy, load_scenario
    try:
        import nicegui  # noqa: F401
    except ImportError:
        fail("the app needs NiceGUI: pip install 'funnelsim[app]'")
    try:
        sc, pol = load_scenario(scenario, []), load_policy(policy, [])
    except ConfigError as e:
        fail(e)
    from sim.app.server import AppConfig, serve
    if host not in LOCAL:
        click.echo(f"warning: serving on {host}: anyone who can reach this machine on port {port} can use the app "
                   "(no accounts, no passwords); stop it after the session", err=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"funnelsim app: http://{shown}:{port}/  (Ctrl+C to stop)")
    import sys
    sys.stdout.flush()
    serve(AppConfig(sc, pol, seed, Path.cwd(), replications, workers), host, port)
