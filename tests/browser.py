"""Open an HTML page in headless Chromium as a person would, for report tests.

`inspect(page, workdir)` loads a *copy* of the page with a small probe injected first in <head>:
it records JavaScript errors, `console.error` calls and failed resource loads, and after the
`load` event writes what the page shows (each image decoded or not, section ids, headings, page
height) into the DOM as JSON; Chromium's `--dump-dom` prints it. A second run takes a full-page
screenshot. Chromium comes from the system packages (Debian: `apt-get install -y chromium`);
`find_chromium()` returns None when it is absent so tests can skip with a clear reason.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio", "--virtual-time-budget=10000")
WIDTH = 1280
MAX_HEIGHT = 16_000     # Chromium's screenshot limit is far above; this keeps the PNG reasonable

PROBE = """<script>
(function () {
  var errors = [];
  window.__errors = errors;
  window.addEventListener('error', function (e) {
    var t = e.target || {};
    if (t !== window && (t.src || t.href)) { errors.push('resource failed: ' + String(t.src || t.href).slice(0, 120)); }
    else { errors.push('js error: ' + (e.message || e)); }
  }, true);
  window.addEventListener('unhandledrejection', function (e) { errors.push('unhandled rejection: ' + e.reason); });
  var origError = console.error;
  console.error = function () { errors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); return origError.apply(console, arguments); };
  window.addEventListener('load', function () {
    var imgs = Array.prototype.map.call(document.images, function (i) {
      return {alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight};
    });
    var out = {
      errors: errors, images: imgs,
      sections: Array.prototype.map.call(document.querySelectorAll('section[id]'), function (s) { return s.id; }),
      headings: Array.prototype.map.call(document.querySelectorAll('h1, h2, h3'), function (h) { return h.textContent; }),
      height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
      external: Array.prototype.filter.call(document.querySelectorAll('[src], link[href]'), function (e) {
        var u = e.getAttribute('src') || e.getAttribute('href'); return !/^data:/.test(u) && !/^#/.test(u);
      }).length
    };
    var pre = document.createElement('pre');
    pre.id = '__probe';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  });
})();
</script>"""


@dataclass
class PageView:
    """What Chromium saw."""

    errors: list[str]
    images: list[dict]
    sections: list[str]
    headings: list[str]
    height: int
    external: int
    screenshot: Path | None = None
    stderr: str = field(default="", repr=False)


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(browser: str, args: list[str], workdir: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(workdir)}      # a throwaway profile: never the user's
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={workdir / 'profile'}", *args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=workdir)


def inspect(page: Path, workdir: Path, screenshot: bool = True) -> PageView:
    """Load `page` (a copy with the probe) in headless Chromium; return what it saw."""
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found (apt-get install -y chromium)")
    workdir.mkdir(parents=True, exist_ok=True)
    text = page.read_text(encoding="utf-8")
    probed = re.sub(r"<head>", lambda m: m.group(0) + PROBE, text, count=1)
    copy = workdir / "probed.html"
    copy.write_text(probed, encoding="utf-8")
    r = _run(browser, ["--dump-dom", copy.as_uri()], workdir)
    m = re.search(r'<pre id="__probe">(.*?)</pre>', r.stdout, re.S)
    if not m:
        raise RuntimeError(f"Chromium did not report on the page (exit {r.returncode}): {r.stderr[-2000:]}")
    data = json.loads(html.unescape(m.group(1)))
    view = PageView(data["errors"], data["images"], data["sections"], data["headings"], int(data["height"]),
                    int(data["external"]), stderr=r.stderr)
    if screenshot:
        shot = workdir / "report.png"
        height = min(max(view.height, 800), MAX_HEIGHT)
        s = _run(browser, [f"--screenshot={shot}", f"--window-size={WIDTH},{height}", page.as_uri()], workdir)
        if shot.is_file():
            view.screenshot = shot
        else:
            raise RuntimeError(f"no screenshot written (exit {s.returncode}): {s.stderr[-2000:]}")
    return view


def pdf(page: Path, workdir: Path) -> Path:
    """Print `page` to PDF with Chromium (the print stylesheet applies); return the file."""
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found (apt-get install -y chromium)")
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "report.pdf"
    r = _run(browser, [f"--print-to-pdf={out}", "--no-pdf-header-footer", page.as_uri()], workdir)
    if not out.is_file():
        raise RuntimeError(f"no PDF written (exit {r.returncode}): {r.stderr[-2000:]}")
    return out
