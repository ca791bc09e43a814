"""JupyterLab, as a learner uses it: the server starts, a notebook opens in a real browser and runs.

This is ``make browser-test`` (run by ``.ci/run``). It starts ``jupyter lab`` from the course's
environment on a free port of 127.0.0.1, opens a copy of notebook 00 in headless Chromium
(Debian's ``chromium``, driven by Playwright, which downloads nothing when given the browser's
path), runs every cell with the course kernel in the smoke profile, checks that the
environment report appears in the page, and saves a screenshot to
``build/browser/jupyterlab.png``. Nothing is sent anywhere but 127.0.0.1.

Without ``COURSE_BROWSER_TEST=1`` (as in plain ``make test``) it is skipped; with it, a missing
browser is a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_lib import paths, runner

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("COURSE_BROWSER_TEST") == "1"
pytestmark = pytest.mark.skipif(not REQUIRED, reason="browser test: run `make browser-test`")

# Chromium as the machine allows it: no sandbox as root, no calls home (the network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium found: install Debian's package (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture()
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of notebook 00 (the committed file stays untouched)."""
    runner.ensure_kernel()
    root = tmp_path / "lab"
    root.mkdir()
    notebook = ROOT / "notebooks" / "00_setup_and_data.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:  # start from a clean notebook: every output must come from this run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, root / notebook.name)
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyter.log"
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)  # no "get Jupyter news?" pop-up over the screenshot
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {**os.environ, "COURSE_PROFILE": "smoke", "COURSE_BUILD_DIR": str(tmp_path / "build"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI runs as root; Jupyter refuses without it
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", proc, log)
        yield {"url": f"http://127.0.0.1:{port}/lab/tree/{notebook.name}?token={token}",
               "name": notebook.name, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_jupyterlab_opens_and_runs_a_notebook_with_the_course_kernel(lab):
    from playwright.sync_api import sync_playwright

    shot = paths.build_dir() / "browser" / "jupyterlab.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(lab["url"], wait_until="domcontentloaded", timeout=60_000)
            # the course kernel, chosen by the notebook's metadata, becomes idle
            page.wait_for_function(
                "() => { const a = window.jupyterapp; if (!a) return false;"
                " const w = a.shell.currentWidget; const k = w && w.sessionContext"
                " && w.sessionContext.session && w.sessionContext.session.kernel;"
                " return !!k && k.status === 'idle'; }", timeout=120_000)
            kernel = page.evaluate(
                "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.name")
            assert kernel == runner.KERNEL_NAME
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # every code cell has run (an execution count) and the kernel is idle again
            page.wait_for_function(
                "() => { const w = window.jupyterapp.shell.currentWidget;"
                " const cells = w.content.model.cells; let n = 0;"
                " for (let i = 0; i < cells.length; i++) { const c = cells.get(i);"
                "   if (c.type === 'code' && c.executionCount === null) return false; }"
                " return w.sessionContext.session.kernel.status === 'idle'; }", timeout=240_000)
            outputs = page.evaluate(
                "() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells;"
                " const out = []; for (let i = 0; i < cells.length; i++) { const c = cells.get(i);"
                "   if (c.type === 'code') out.push(JSON.stringify(c.outputs.toJSON())); }"
                " return out; }")
            text = "\n".join(outputs)
            assert "Mixed precision" in text and "TensorFlow" in text, "no environment report"
            assert "results written to" in text, "the notebook's last cell did not run"
            assert '"output_type":"error"' not in text.replace(" ", ""), "a cell raised an error"
            report = page.locator(".jp-OutputArea-output", has_text="Mixed precision").first
            report.scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {paths.display(shot)}")
