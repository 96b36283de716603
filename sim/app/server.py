"""The web app: one shared world pool for every session, a page per browser tab. NiceGUI serves it
(FastAPI + a websocket per tab, over which each world's answer is pushed as soon as it is in).

Why NiceGUI: pages are Python, state lives on the server per tab, an update is pushed without
polling, and its `user` fixture tests a page in milliseconds without a browser.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sim.app.pool import WorldPool
from sim.app.session import DEFAULT_REPLICATIONS, Setting, WhatIf
from sim.config.policy import Policy
from sim.config.scenario import Scenario


@dataclass
class AppConfig:
    """What `funnelsim app` was started with."""

    scenario: Scenario
    policy: Policy
    seed: int
    root: Path                              # the project folder: scenarios/, outputs/ ...
    replications: int = DEFAULT_REPLICATIONS
    workers: int | None = None              # None: one per core; 0: a thread (tests)


def whatif(config: AppConfig, pool: WorldPool) -> None:
    """Build the what-if page for one browser tab."""
    from sim.app.page import WhatIfPage
    session = WhatIf(pool, Setting(config.scenario, config.policy), config.seed, config.replications)
    WhatIfPage(session, config.root).build()


def make_root(config: AppConfig, pool: WorldPool) -> Callable[[], None]:
    """The app's root: one page per path (the classroom pages join here)."""
    from nicegui import ui

    pages: dict[str, Callable[[], None]] = {"/": lambda: whatif(config, pool)}
    pages.update(extra_pages(config, pool))

    def root() -> None:
        ui.page_title("funnelsim")
        ui.sub_pages(pages)
    return root


def extra_pages(config: AppConfig, pool: WorldPool) -> dict[str, Callable[[], None]]:
    """Classroom pages when the classroom backend is installed (facilitator and student)."""
    try:
        from sim.app.classroom_pages import pages
    except ImportError:
        return {}
    return pages(config, pool)


def attach(config: AppConfig) -> tuple[Callable[[], None], WorldPool]:
    """The root function and the pool, started and stopped with the app."""
    from nicegui import app

    from sim.app.worlds import dumps
    first_worlds = (dumps(config.scenario.model_dump(mode="json")), config.seed, (0, 1))   # a change's first answer
    pool = WorldPool(config.workers, warm_worlds=first_worlds)
    app.on_startup(pool.start)
    app.on_startup(warm_statistics)
    app.on_shutdown(pool.shutdown)
    return make_root(config, pool), pool


def warm_statistics() -> None:
    """Import scipy.stats at start-up (about a second), not on the first answer that needs an interval."""
    import scipy.stats  # noqa: F401


def serve(config: AppConfig, host: str, port: int) -> None:
    """Run the server until interrupted (opens no browser)."""
    from nicegui import ui
    root, _ = attach(config)
    ui.run(root, host=host, port=port, title="funnelsim", show=False, reload=False, show_welcome_message=False,
           uvicorn_logging_level="warning", storage_secret=None, favicon=None)
