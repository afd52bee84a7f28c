"""End to end in a real browser: `harness lab`, then headless Chromium opens lab 00 and runs a cell.

Playwright drives Debian's chromium (executable_path): Playwright's own browser download is not
needed. The screenshot lands in reports/screenshots/ for a human to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from harness.config import REPORTS_DIR, facts
from tests.utils.lab_process import lab_process

pytestmark = [pytest.mark.docker, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a root, headless, offline machine: no sandbox (root), no background calls to the network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
LAB_00 = "00-introduccion.ipynb"


def accept_kernel_dialog(page: Page) -> None:
    """Accept JupyterLab's 'Select Kernel' dialog (it shows when the kernelspecs load after the notebook)."""
    dialog_button = page.locator(".jp-Dialog .jp-mod-accept")
    for _ in range(20):
        if dialog_button.count() and dialog_button.first.is_visible():
            dialog_button.first.click()
            return
        if page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
            return
        page.wait_for_timeout(500)


def test_student_opens_lab_00_and_runs_a_cell(tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), "chromium is missing: `make setup` installs Debian's chromium"
    screenshot = REPORTS_DIR / "screenshots" / "lab00.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with lab_process(tmp_path / "work") as lab, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            # Generous: the first `import torch` in a fresh kernel is slow on a busy 2-core machine.
            page.set_default_timeout(120_000)
            page.goto(lab.url)  # the token in the URL logs the browser in (cookie)
            page.wait_for_selector("#jp-main-dock-panel")
            page.goto(lab.url.split("?")[0] + f"/{LAB_00}")  # the work folder, where the URL opens
            page.wait_for_selector(".jp-Notebook .jp-CodeCell")
            accept_kernel_dialog(page)
            # The kernel must be connected and idle before a cell runs (the status bar says so).
            page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for()
            first_code_cell = page.locator(".jp-Notebook .jp-CodeCell").first
            first_code_cell.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            prompt = first_code_cell.locator(".jp-InputArea-prompt")
            try:
                prompt.filter(has_text="[1]").wait_for()
            finally:
                page.screenshot(path=str(screenshot), full_page=False)
            output = first_code_cell.locator(".jp-OutputArea-output").first.inner_text()
            assert f"PyTorch {facts().torch_version}" in output, f"the first cell printed {output!r}"
            errors = first_code_cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert "[1]" in prompt.inner_text(), f"the first cell did not run: prompt is {prompt.inner_text()!r}"
            assert errors.count() == 0 or "Error" not in errors.first.inner_text(), "the first cell raised"
            title = page.locator(".jp-mod-current .lm-TabBar-tabLabel, .lm-TabBar-tab.jp-mod-current").first.inner_text()
            assert LAB_00.removesuffix(".ipynb") in title, f"the open tab is {title!r}, not lab 00"
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000, "the screenshot is empty"
