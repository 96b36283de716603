"""funnelsim engine: simulate B2B marketing and sales funnels under alternative policies.

For notebooks: `sim.compare(...)`, `sim.sweep(...)`, `sim.load_results(path)` and
`sim.explain(path, lead)` (one lead's story under each policy of a results folder; loaded lazily, so
`import sim` stays cheap and has no side effects). A policy is a name, a path, a Policy object or a
variant `"seed-example@mql.threshold=70"` (see docs/how-to/policy-variants.md); inputs that are
valid but probably not meant are listed in `results.manifest["warnings"]`."""

from typing import Any

__version__ = "0.1.0"

_API = {"compare": "sim.experiment.api", "sweep": "sim.experiment.api",
        "load_results": "sim.experiment.results", "Results": "sim.experiment.results",
        "explain": "sim.story.folder"}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = ["compare", "sweep", "load_results", "Results", "explain", "__version__"]
