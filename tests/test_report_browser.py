"""The report as a person sees it: built from a small experiment, loaded in headless Chromium with
no console errors, every image decoded, every section there, nothing fetched from outside, a
screenshot saved in the test's temporary folder, and a clean print to PDF.

Chromium comes from the system packages (Makefile / CI: `apt-get install -y chromium`); without
it these tests skip and say so.
"""
from __future__ import annotations

import re

import pytest
from browser import find_chromium, inspect, pdf
from results_fixture import comparison_folder

from sim.report import build_report
from sim.report.page import SECTIONS

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="Chromium not installed (apt-get install -y chromium)"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = comparison_folder(tmp_path_factory.mktemp("browser") / "cmp", replications=3)
    return build_report(folder)


def test_report_loads_cleanly_in_chromium(report, tmp_path):
    view = inspect(report, tmp_path)
    assert view.errors == []
    assert len(view.images) == 7
    for img in view.images:                        # every image decoded, at a slide-size resolution
        assert img["complete"] and img["width"] >= 800 and img["height"] >= 200, img
    assert view.sections == [key for key, _ in SECTIONS]
    for _, title in SECTIONS:
        assert title in view.headings
    assert view.external == 0                      # nothing to fetch: opens offline
    assert view.screenshot is not None and view.screenshot.parent == tmp_path
    data = view.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    assert view.height > 3000                      # the whole page, not an empty one


def test_report_prints_to_pdf(report, tmp_path):
    out = pdf(report, tmp_path)
    data = out.read_bytes()
    assert data[:5] == b"%PDF-"
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 3


def test_the_probe_catches_errors_and_broken_images(tmp_path):
    """The check itself can fail: a page with a script error and a broken image is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><html><head><title>x</title></head><body><section id="a"></section>'
                    '<img alt="broken" src="data:image/png;base64,AAAA"><script>undefinedFunction()</script>'
                    "</body></html>", encoding="utf-8")
    view = inspect(page, tmp_path / "probe", screenshot=False)
    assert any("undefinedFunction" in e for e in view.errors)
    assert view.images[0]["width"] == 0
