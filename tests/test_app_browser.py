"""The live app in a real browser: `funnelsim app` served on loopback, driven by Selenium through
Debian's headless Chromium and chromedriver (nothing downloads a browser). Moves a lever and sees
the KPIs change, types an impossible value and sees the field's message (no traceback), exports
a policy that `validate` accepts. Screenshots: docs/images/app-*.png with `make screenshots` (the
how-to shows them), a temporary folder otherwise.

Skipped, saying why, without selenium or /usr/bin/chromedriver (`make browser` installs them).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# The docs' screenshots are remade by `make screenshots` (FUNNELSIM_SCREENSHOTS=docs); a plain test
# run takes them into a temporary folder, so `make test` leaves the working tree as it found it.
IMAGES = (ROOT / "docs" / "images" if os.environ.get("FUNNELSIM_SCREENSHOTS") == "docs"
          else Path(os.environ.get("TMPDIR", "/tmp")) / f"funnelsim-screenshots-{os.getpid()}")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _skip_reason() -> str | None:
    try:
        import nicegui  # noqa: F401
        import selenium  # noqa: F401
    except ImportError as e:
        return f"{e.name} is not installed (pip install -e '.[app]')"
    if not os.path.exists(CHROMEDRIVER) or not CHROMIUM:
        return "Chromium and chromedriver are not installed (make browser, or apt-get install chromium chromium-driver)"
    return None


if _skip_reason():
    pytest.skip(_skip_reason() or "", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(cwd: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`funnelsim app ARGS` on a free loopback port; (process, URL) once it answers."""
    port = free_port()
    cmd = [sys.executable, "-c", "from sim.cli import main; main()", "app", *args, "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}   # NiceGUI reads them as a test
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"funnelsim app exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("funnelsim app did not answer within 60 s")


def browser(width: int = 1400, height: int = 1000) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-extensions", f"--window-size={width},{height}"):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM or ""
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def sel(name: str) -> str:
    return f'[data-test="{name}"]'


def text_of(driver: Any, name: str) -> str:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    try:
        return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, sel(name)))
    except StaleElementReferenceException:          # redrawn by the next world: read it again
        return ""


def wait_text(driver: Any, name: str, pattern: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = text_of(driver, name)
        if re.search(pattern, text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{name!r} never matched {pattern!r}; last text {text!r}")


def type_into(driver: Any, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    box = driver.find_element(By.CSS_SELECTOR, f"input{sel(name)}, {sel(name)} input")   # QInput: on the <input>
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(value, Keys.TAB)


def shot(driver: Any, name: str) -> Path:
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / name
    driver.save_screenshot(str(path))
    from PIL import Image  # 256 colours: a small PNG for the docs, still sharp text
    with Image.open(path) as im:
        im.convert("RGB").quantize(colors=256).save(path, optimize=True)
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    (root / "outputs").mkdir()
    return root


@pytest.fixture(scope="module")
def app_url(project: Path) -> Iterator[str]:
    proc, url = start_app(project, "workshop", "-n", "10", "--workers", "2")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    d = browser()
    try:
        yield d
    finally:
        d.quit()


def test_moving_a_lever_changes_the_kpis_in_the_browser(app_url, driver):
    driver.get(app_url)
    wait_text(driver, "status", r"10 of 10 worlds \(done\)")
    assert "same setting on both sides" in text_of(driver, "diff:mql_to_sql_rate")
    type_into(driver, "policy.mql.threshold", "90")
    wait_text(driver, "changes", r"MQL threshold \(points\): 60 -> 90")
    wait_text(driver, "status", r"10 of 10 worlds \(done\)")
    diff = wait_text(driver, "diff:mqls", r"lower")           # a higher bar: fewer MQLs on every world
    assert re.search(r"^-\d+(\.\d+)? ± \d+(\.\d+)? \(lower\)$", diff), diff
    assert re.search(r"pp", text_of(driver, "diff:mql_to_sql_rate"))   # a paired difference, in points
    shot(driver, "app-what-if.png")


def test_an_impossible_value_shows_the_fields_message_in_the_browser(app_url, driver):
    driver.get(app_url)
    wait_text(driver, "status", r"\(done\)")
    type_into(driver, "policy.cadence.max_attempts", "500")
    msg = wait_text(driver, "error:policy.cadence.max_attempts", r"must be")
    assert msg == "cadence.max_attempts: must be <= 50 (got 500)"
    page = driver.page_source
    assert "Traceback" not in page and "Error:" not in page
    shot(driver, "app-field-message.png")


def test_the_exported_policy_validates(app_url, driver, project):
    from selenium.webdriver.common.by import By

    from sim.cli import main
    driver.get(app_url)
    wait_text(driver, "status", r"\(done\)")
    type_into(driver, "policy.mql.threshold", "75")
    wait_text(driver, "changes", r"60 -> 75")
    driver.find_element(By.CSS_SELECTOR, sel("export-policy")).click()
    note = wait_text(driver, "export-note", r"written to outputs/app-exports/\S+\.toml")
    path = project / note.split("written to ", 1)[1].strip()
    r = CliRunner().invoke(main, ["validate", str(path)])
    assert r.exit_code == 0, r.output
    assert "threshold = 75" in path.read_text()


def click(driver: Any, name: str) -> None:
    from selenium.webdriver.common.by import By
    driver.find_element(By.CSS_SELECTOR, sel(name)).click()


def test_three_teams_join_submit_and_the_leaderboard_ranks_them(app_url, driver):
    from selenium.webdriver.common.by import By
    driver.get(app_url + "classroom")
    click(driver, "new-session")
    code = wait_text(driver, "code", r"^[A-Z0-9]{6}$")
    click(driver, "open-round")
    wait_text(driver, "round-status", r"Round 1 open")
    facilitator = driver.current_window_handle
    for team, threshold in (("Ravens", "40"), ("Owls", "60"), ("Hawks", "95")):
        driver.switch_to.new_window("tab")
        driver.get(app_url + "join")
        driver.find_element(By.CSS_SELECTOR, f"input{sel('join-code')}").send_keys(code)
        driver.find_element(By.CSS_SELECTOR, f"input{sel('team-name')}").send_keys(team)
        click(driver, "join")
        wait_text(driver, "student-goal", r"Round 1 \(open\): maximise bookings")
        type_into(driver, "lever:mql.threshold", threshold)
        click(driver, "submit")
        wait_text(driver, "student-status", rf"submitted mql.threshold = {threshold}")
        if team == "Owls":
            shot(driver, "app-classroom-student.png")
        driver.close()
        driver.switch_to.window(facilitator)
    wait_text(driver, "round-status", r"3 of 3 team\(s\) submitted")
    click(driver, "close-run")
    wait_text(driver, "round-status", r"10 of 10 worlds", seconds=60)
    rows = driver.find_elements(By.CSS_SELECTOR, f"{sel('leaderboard')} tbody tr")
    table = [r.text for r in rows]
    assert len(table) == 3, table
    assert sorted(t.split()[0] for t in table) == ["1", "2", "3"], table
    assert {t.split()[1] for t in table} == {"Ravens", "Owls", "Hawks"}
    assert "leader" in table[0]
    click(driver, "debrief-button")
    deadline = time.monotonic() + 30                                 # the debrief figure is shown
    loaded = "return Array.from(document.querySelectorAll('img')).some(i => i.complete && i.naturalWidth > 0)"
    while time.monotonic() < deadline and not driver.execute_script(loaded):
        time.sleep(0.2)
    assert driver.execute_script(loaded), "the debrief figure did not load"
    shot(driver, "app-classroom-facilitator.png")
