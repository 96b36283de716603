"""One look for every figure: readable at slide size, plain-word titles, units on the axes, a
colour-blind-safe palette (Okabe-Ito) and one colour per policy throughout a report.

Figures are plain `matplotlib.figure.Figure` objects (no pyplot: no backend to choose, no global
figure registry to leak into) and styling is applied with `matplotlib.rc_context` around each
figure, so importing or using this package changes nothing for the user's own plots.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase
    from matplotlib.typing import RcKeyType

from sim import format as F

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Yellow last: it is weak on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
GREY = "#9A9A9A"
SIGNIFICANT = "#D55E00"     # vermillion: an interval that excludes zero
SPIKE = "#E69F00"           # campaign spikes shaded in load figures

RC: dict[RcKeyType, Any] = {
    "font.size": 12, "axes.titlesize": 14, "axes.titleweight": "bold", "axes.labelsize": 12,
    "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 11, "figure.titlesize": 15,
    "figure.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.8, "lines.linewidth": 2.0,
    "svg.fonttype": "none", "figure.dpi": 100, "savefig.bbox": "tight",
}


def colours(policies: Iterable[str]) -> dict[str, str]:
    """One fixed colour per policy, in the order given (the report's policy order)."""
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(dict.fromkeys(policies))}


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """The report style for the figures created inside the block."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(rows: int = 1, cols: int = 1, width: float = 10.0, height: float = 5.0,
               **kw: Any) -> tuple[Figure, np.ndarray[Any, np.dtype[Any]]]:
    """(figure, 2-D array of axes) in the report style (call inside `styled()`), constrained layout."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False, **kw)


def empty_figure(title: str, message: str) -> Figure:
    """A figure that says plainly why there is nothing to draw (e.g. no replications)."""
    with styled():
        fig, ax = new_figure(width=8, height=2.5)
        a = ax[0, 0]
        a.axis("off")
        a.set_title(title)
        a.text(0.5, 0.5, message, ha="center", va="center", transform=a.transAxes, fontsize=12, color="#444")
    return fig


FORMAT = "svg"


def save(fig: Figure, folder: Path, name: str) -> dict[str, Path]:
    """Write `name`.svg into `folder`: the HTML page embeds it and it scales for slides. One format
    only: saving was most of the report's CPU, and SVG was both smaller and quicker to write than
    the 110-dpi PNG it replaced (about 1.3 s against 1.7 s for a sweep report's 8 figures)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{FORMAT}"
    with styled():
        fig.savefig(path, format=FORMAT, bbox_inches="tight")
    return {FORMAT: path}


def close(fig: Figure) -> None:
    """Free a figure's memory once saved (pyplot-free figures need no deregistration)."""
    fig.clear()


def pct(x: float, digits: int = 0) -> str:
    """0.123 -> '12%' (n/a for NaN), for sentences and figure labels."""
    return F.share(x, digits)


def pretty(name: str) -> str:
    """A KPI or setting name in plain words (see `sim.format.setting_name`)."""
    return F.setting_name(name)


def value_ticks(ax: Axes, values: Iterable[Any], axis: str = "x") -> None:
    """Ticks at the swept values when they are whole numbers (SDRs 2, 3, 4: never 2.5); many
    values get integer-only ticks instead."""
    from matplotlib.ticker import MaxNLocator
    vals = sorted({float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)})
    if not vals or any(v != round(v) for v in vals):
        return
    target = ax.xaxis if axis == "x" else ax.yaxis
    if len(vals) <= 12:
        target.set_ticks(vals, [f"{v:,.0f}" for v in vals])
    else:
        target.set_major_locator(MaxNLocator(integer=True))


def overlaps(fig: Figure, texts: Sequence[Text]) -> list[tuple[int, int]]:
    """Pairs of texts (indices) whose drawn boxes overlap (renders the figure once)."""
    r = renderer(fig)
    boxes = [t.get_window_extent(r) for t in texts]
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def declutter(fig: Figure, annotations: Sequence[Annotation], gap: float = 2.0) -> None:
    """Move annotations (text offset in points from their anchor) down, one after another, until no
    two overlap: labels of policies at the same spot stack instead of printing over each other."""
    if len(annotations) < 2:
        return
    r = renderer(fig)
    placed: list[Any] = []                  # drawn boxes (matplotlib Bbox)
    for a in annotations:
        for _ in range(50):
            box = a.get_window_extent(r)
            hit = next((b for b in placed if box.overlaps(b)), None)
            if hit is None:
                break
            shift = (box.y1 - hit.y0 + gap) * 72.0 / fig.dpi      # pixels -> points
            x, y = a.xyann
            a.xyann = (x, y - shift)
        placed.append(a.get_window_extent(r))


def renderer(fig: Figure) -> RendererBase:
    """Lay the figure out and draw it once (Agg, off screen); the renderer measures text boxes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)     # attached above
    r: RendererBase = canvas.get_renderer()  # type: ignore[no-untyped-call]  # untyped in matplotlib's Agg
    return r
