"""How fast the live app answers, measured in a real browser (headless Chromium via Selenium and
Debian's chromedriver) against `funnelsim app` on loopback only (127.0.0.1).

1. control change -> first updated answer on `classroom` (falls back to `workshop`): the MQL
   "ICP only" gate is flipped and the time until the page shows the answer of the new setting (the
   first world of it) is taken; p50/p95 over CHANGES changes (each after the previous finished).
2. `baseline`: page load -> first answer, and a control change -> first answer.
3. SESSIONS concurrent sessions on `workshop`, 10 worlds each (browser tabs, one server and its
   shared pool): every tab makes
   a change at once; p50/p95 of its first answer, the time until all are finished, and errors.
   Bounded: SESSIONS tabs, each waiting at most TIMEOUT seconds; nothing leaves the machine.

    python benchmarks/bench_app.py            # all three, figures for benchmarks/README.md
"""
from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHANGES = 20
SESSIONS = 20
TIMEOUT = 90.0
SEL = '[data-test="{}"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(scenario: str, replications: int) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.Popen([sys.executable, "-c", "from sim.cli import main; main()", "app", scenario, "-n",
                             str(replications), "--port", str(port)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the app did not start")


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
              "--disable-background-timer-throttling", "--disable-renderer-backgrounding"):
        o.add_argument(a)
    o.binary_location = shutil.which("chromium") or ""
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=o)


def text(d: Any, name: str) -> str:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    try:
        return " ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, SEL.format(name)))
    except StaleElementReferenceException:
        return ""


def wait(d: Any, name: str, want: str, timeout: float = TIMEOUT) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if want in text(d, name):
            return time.perf_counter()
        time.sleep(0.005)
    raise TimeoutError(f"{name} never showed {want!r}")


def change(d: Any) -> float:
    """Flip the "ICP only" gate (a switch: one change, no half-typed values); the time of the click."""
    from selenium.webdriver.common.by import By
    box = d.find_element(By.CSS_SELECTOR, '[data-test="policy.mql.gates.icp_only"]')
    t = time.perf_counter()
    box.click()
    return t


def expect(i: int) -> str:
    """What the page says once the i-th flip (0, 1, ...) is answered."""
    return "ICP only: no -> yes" if i % 2 == 0 else "nothing yet"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def report(label: str, xs: list[float]) -> None:
    ms = [1000 * x for x in xs]
    print(f"{label}: n={len(ms)} p50={statistics.median(ms):.0f} ms p95={pct(ms, 0.95):.0f} ms max={max(ms):.0f} ms")


def first_answers(url: str, d: Any, n: int) -> list[float]:
    d.get(url)
    wait(d, "status", "(done)")
    out = []
    for i in range(n):
        t0 = change(d)
        out.append(wait(d, "changes", expect(i)) - t0)
        wait(d, "status", "(done)")
    return out


def concurrent(url: str, sessions: int) -> None:
    d = browser()
    try:
        handles = []
        for i in range(sessions):
            if i:
                d.switch_to.new_window("tab")
            d.get(url)
            handles.append(d.current_window_handle)
        for h in handles:
            d.switch_to.window(h)
            wait(d, "status", "(done)")
        t_all = time.perf_counter()
        started = {}
        for h in handles:
            d.switch_to.window(h)
            started[h] = change(d)
        firsts, errors = [], 0
        for h in handles:
            d.switch_to.window(h)
            try:
                firsts.append(wait(d, "changes", expect(0)) - started[h])
                wait(d, "status", "(done)")
            except TimeoutError:
                errors += 1
            if "Traceback" in d.page_source or text(d, "status").startswith("world"):
                errors += 1
        report(f"{sessions} concurrent sessions, change -> first answer (read tab by tab)", firsts)
        print(f"{sessions} concurrent sessions: all finished in {time.perf_counter() - t_all:.1f} s, errors={errors}")
    finally:
        d.quit()


def main() -> None:
    print(f"load average before: {os.getloadavg()}")
    scenario = "classroom" if (ROOT / "scenarios" / "classroom.toml").is_file() else "workshop"
    proc, url = start(scenario, 20)
    try:
        d = browser()
        try:
            report(f"{scenario}: control change -> first answer", first_answers(url, d, CHANGES))
        finally:
            d.quit()
    finally:
        proc.terminate()
    proc, url = start("workshop", 10)
    try:
        concurrent(url, SESSIONS)
    finally:
        proc.terminate()
    proc, url = start("baseline", 20)
    try:
        d = browser()
        try:
            t0 = time.perf_counter()
            d.get(url)
            report("baseline: page load -> first answer", [wait(d, "changes", "Changed") - t0])
            wait(d, "status", "(done)")
            report("baseline: control change -> first answer", first_answers(url, d, 5))
        finally:
            d.quit()
    finally:
        proc.terminate()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
