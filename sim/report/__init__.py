"""Figures and the self-contained HTML report of a results folder: `build_report(folder)`."""
from __future__ import annotations

from sim.report.build import build_report

__all__ = ["build_report"]
