"""The hub in a real browser (Playwright, Debian's chromium): a student's first login, and the
instructor kept out of every origin where a student's code runs.

One hub without subdomains (the default): the first login goes through the change-password page
into the lab, which opens on the notebooks with no dialog and says when an idle server is stopped;
the instructor cannot open a student's server, so a page the student planted never runs with the
instructor's cookies. One hub with subdomains on *.localhost (chromium resolves them to this
machine): the student's lab has an origin of its own, and its code cannot read the hub's pages, not
even on the student's own host (the proxy sends the hub's paths there to the hub's host). Pages a
student leaves in their lab's own folders (lab extensions, themes, custom files) are never served.
`make lab` opens on the notebooks with no dialog too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from harness.config import REPORTS_DIR
from harness.engine.containers import run_in
from harness.hub.accounts import Accounts, create_accounts
from harness.hub.client import Hub, login
from harness.hub.credentials import admin_password_file
from tests.utils.hub import hub_instance
from tests.utils.lab_process import free_port, lab_process

pytestmark = [pytest.mark.docker, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
SPAWN_TIMEOUT_S = 300
NEW_PASSWORD = "elegida-en-el-navegador-1"
# A page a student leaves in their work folder: run with someone's hub cookies, it would read the hub's pages.
# The same from a page's script: fetch a hub page with the browser's cookies.
HUB_READ = """(hub) => fetch(hub + "/hub/api/user", {credentials: "include"})
    .then(r => r.text()).then(t => "READ:" + t, e => "BLOCKED:" + e)"""
PLANTED_PAGE = """<!doctype html><html><head><title>planted</title></head><body><script>
fetch(HUB + "/hub/api/user", {credentials: "include"})
  .then(r => r.text()).then(t => { document.title = "READ:" + t; })
  .catch(e => { document.title = "BLOCKED:" + e; });
</script></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "chromium is missing: `make setup` installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def hub(docker_engine: docker.DockerClient, cpu_image: str) -> Iterator[Hub]:
    with hub_instance(docker_engine, "dl-lab-hubweb", variant="cpu", gpu=False) as started:
        yield started


@pytest.fixture(scope="module")
def accounts(hub: Hub) -> Accounts:
    return create_accounts(hub, ["ana", "beto"])


def log_in_first_time(page: Page, base: str, user: str, initial: str) -> None:
    """The login form with the initial password, then the change-password form, as a student fills them in."""
    page.goto(f"{base}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", initial)
    page.click("#login_submit")
    page.wait_for_selector("#initial-password-notice")
    page.fill("#current_password_input", initial)
    page.fill("#new_password_input", NEW_PASSWORD)
    page.fill("#new_password_again_input", NEW_PASSWORD)
    page.click("#change_password_submit")


def log_in(page: Page, base: str, user: str, password: str) -> None:
    """Log in to the hub's home page (not to one's own server, which would be started)."""
    page.goto(f"{base}/hub/login?next=%2Fhub%2Fhome")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_load_state()


def assert_notebooks_without_dialog(page: Page, what: str, *, screenshot: str, listed: str = "ipynb") -> None:
    page.wait_for_selector("#jp-main-dock-panel")
    path = REPORTS_DIR / "screenshots" / screenshot
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.locator(".jp-DirListing-item", has_text=listed).first.wait_for()
    finally:
        page.screenshot(path=str(path))
    page.wait_for_timeout(3000)  # a "Cannot open" dialog comes a moment after the lab shows
    dialogs = page.locator(".jp-Dialog")
    assert dialogs.count() == 0, f"{what} shows a dialog: {dialogs.first.inner_text()[:200]!r}"


def planted_title(page: Page, url: str) -> str:
    response = page.goto(url)
    page.wait_for_timeout(2000)
    return f"{response.status if response else 0} {page.title()}"


def test_the_first_login_opens_the_notebooks_without_a_dialog(hub: Hub, accounts: Accounts, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(SPAWN_TIMEOUT_S * 1000)
    try:
        log_in_first_time(page, hub.url, "ana", accounts.passwords["ana"])
        assert_notebooks_without_dialog(page, "ana's first login", screenshot="hub-first-login.png")
        assert "/user/ana/lab" in page.url, f"the first login ended at {page.url}"
        page.get_by_text("Tu servidor se detiene tras 1 hora sin actividad").first.wait_for(timeout=60_000)
    finally:
        page.close()


def test_make_lab_opens_the_notebooks_without_a_dialog(browser: Browser, tmp_path: Path) -> None:
    with lab_process(tmp_path / "work") as lab:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)
        try:
            page.goto(lab.url)  # the one line `make lab` prints
            assert_notebooks_without_dialog(page, "`make lab`", screenshot="lab-first-open.png")
            crumbs = page.locator(".jp-FileBrowser .jp-BreadCrumbs").first.inner_text()
            assert "work" in crumbs, f"`make lab`'s file browser is not in the work folder: {crumbs!r}"
            # The server's own address (a bookmark without /lab/...) opens there too: its default_url.
            base, query = lab.url.split("/lab/", 1)[0], lab.url.split("?", 1)[1]
            page.goto(f"{base}/?{query}")
            assert_notebooks_without_dialog(page, "`make lab`'s home", screenshot="lab-home-open.png")
        finally:
            page.close()


def test_the_instructor_cannot_open_a_students_server(docker_engine: docker.DockerClient, hub: Hub,
                                                      accounts: Accounts, browser: Browser) -> None:
    hub.start_server("beto")
    hub.wait_ready("beto", timeout_s=SPAWN_TIMEOUT_S)
    container = docker_engine.containers.get(f"{hub.name}-user-beto")
    page_text = PLANTED_PAGE.replace("HUB", repr(hub.url))
    code, output = run_in(container, ["sh", "-c", 'printf "%s" "$1" > /home/jovyan/work/planted.html', "sh", page_text],
                          timeout_s=30)
    assert code == 0, output
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        log_in(page, hub.url, "profesor", admin_password_file(hub.name).read_text().strip())
        assert page.goto(f"{hub.url}/hub/admin") is not None
        page.get_by_text("beto").first.wait_for()  # the admin panel works for the instructor
        for path in ("files/planted.html", "lab"):
            seen = planted_title(page, hub.user_url("beto", path))
            assert not seen.split(" ", 1)[1].startswith("READ:"), f"the planted page ran with the instructor's cookies: {seen}"
            assert "jp-main-dock-panel" not in page.content(), f"the instructor opened beto's {path}"
            assert seen.startswith("403") or "403" in page.content(), f"beto's {path} answered the instructor: {seen}"
    finally:
        context.close()


# Where a student's own files used to be served without login: lab extensions and themes, custom files.
PLANTED_ELSEWHERE = {
    "/home/jovyan/.local/share/jupyter/labextensions/ayuda/static/ayuda.html": "lab/extensions/ayuda/static/ayuda.html",
    "/home/jovyan/.local/share/jupyter/labextensions/ayuda/themes/ayuda/index.html":
        "lab/api/themes/ayuda/index.html",
    "/home/jovyan/.jupyter/custom/ayuda.html": "static/custom/ayuda.html",
}


def test_a_page_in_a_students_own_jupyter_folders_is_never_served_on_the_hubs_origin(
        docker_engine: docker.DockerClient, hub: Hub, accounts: Accounts, browser: Browser) -> None:
    """beto (as himself, as any notebook cell can) leaves pages in his lab's own folders: nobody gets them, with or
    without login; the image's own lab extensions are still served; what such a handler serves is sandboxed."""
    hub.start_server("beto")
    hub.wait_ready("beto", timeout_s=SPAWN_TIMEOUT_S)
    container = docker_engine.containers.get(f"{hub.name}-user-beto")
    page_text = PLANTED_PAGE.replace("HUB", repr(hub.url))
    for planted in PLANTED_ELSEWHERE:
        code, output = run_in(container, ["sh", "-c", 'mkdir -p "$(dirname "$2")" && printf "%s" "$1" > "$2"', "sh",
                                          page_text, planted], timeout_s=30, user="jovyan")
        assert code == 0, output
    for path in PLANTED_ELSEWHERE.values():
        anonymous = requests.get(hub.user_url("beto", path), timeout=30, allow_redirects=False)
        assert anonymous.status_code != 200 or "planted" not in anonymous.text, (
            f"beto's {path} is served without login: {anonymous.status_code} {anonymous.headers.get('Content-Type')}")
    image_extension = requests.get(hub.user_url("beto", "lab/extensions/@jupyter-widgets/jupyterlab-manager/package.json"),
                                   timeout=30)
    assert image_extension.status_code == 200, f"the image's own lab extension is gone: {image_extension.status_code}"
    # A document such a handler serves (a page of the image's own) runs sandboxed, like /files/.
    document = requests.get(hub.user_url("beto", "static/lab/index.html"), timeout=30)
    assert document.status_code == 200 and "sandbox" in document.headers.get("Content-Security-Policy", ""), (
        f"a page of /static/ is served unsandboxed: {document.status_code} {document.headers}")
    login(hub, "dora", create_accounts(hub, ["dora"]).passwords["dora"], new_password=NEW_PASSWORD)
    for user, password in (("profesor", admin_password_file(hub.name).read_text().strip()), ("dora", NEW_PASSWORD)):
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            log_in(page, hub.url, user, password)
            assert f'<span class="me-1">{user}</span>' in page.content(), f"{user} is not logged in"
            for path in PLANTED_ELSEWHERE.values():
                seen = planted_title(page, hub.user_url("beto", path))
                assert not seen.split(" ", 1)[1].startswith(("READ:", "BLOCKED:")), (
                    f"beto's page {path} ran in {user}'s browser on the hub's origin: {seen}")
        finally:
            context.close()


@pytest.fixture(scope="module")
def subdomain_hub(docker_engine: docker.DockerClient, cpu_image: str) -> Iterator[Hub]:
    with hub_instance(docker_engine, "dl-lab-hubsub", variant="cpu", gpu=False, port=free_port(),
                      subdomain_host="localhost") as started:
        yield started


def test_with_subdomains_a_students_code_has_an_origin_of_its_own(subdomain_hub: Hub, browser: Browser) -> None:
    hub = subdomain_hub
    port = hub.url.rsplit(":", 1)[1]
    hub_origin = f"http://localhost:{port}"
    passwords = create_accounts(hub, ["carla"]).passwords
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(SPAWN_TIMEOUT_S * 1000)
    try:
        log_in_first_time(page, hub_origin, "carla", passwords["carla"])
        assert_notebooks_without_dialog(page, "carla's first login on her subdomain", screenshot="hub-subdomain-lab.png")
        assert page.url.startswith(f"http://carla.localhost:{port}/user/carla/lab"), f"carla's lab is at {page.url}"
        lab_origin = page.evaluate("() => window.location.origin")
        assert lab_origin == f"http://carla.localhost:{port}" != hub_origin, f"carla's lab runs in {lab_origin}"
    finally:
        context.close()
    # The instructor (a JupyterHub admin with subdomains) opens carla's lab to help her: what a JupyterLab
    # extension carla installed runs there, in the instructor's browser, and asks the hub for pages with cookies.
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(SPAWN_TIMEOUT_S * 1000)
    try:
        log_in(page, hub_origin, "profesor", admin_password_file(hub.name).read_text().strip())
        # The same request from the hub's own page reads it: the check below can fail.
        own = page.evaluate(HUB_READ.replace("/hub/api/user", "/hub/home"), hub_origin)
        assert own.startswith("READ:") and "profesor" in own, f"the instructor's hub page cannot read the hub: {own[:200]}"
        page.goto(f"http://carla.localhost:{port}/user/carla/lab")
        page.wait_for_load_state()
        if "/hub/api/oauth2/authorize" in page.url:  # the hub asks the instructor to confirm access to carla's server
            page.locator("form [type=submit]").first.click()
        page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
        assert page.evaluate("() => window.location.origin") == f"http://carla.localhost:{port}", page.url
        seen = page.evaluate(HUB_READ, hub_origin)
        assert seen.startswith("BLOCKED:"), f"code in carla's lab read the hub's API with the instructor's cookies: {seen[:200]}"
        home = page.evaluate(HUB_READ.replace("/hub/api/user", "/hub/home"), hub_origin)
        assert home.startswith("BLOCKED:"), "code in carla's lab read the hub's home page (its form token)"
        # The hub's pages on carla's own host (same origin as her code) are not the hub's: they send to its host.
        for path in ("/hub/login", "/hub/home", "/hub/api/user"):
            own_host = page.evaluate(HUB_READ.replace('hub + "/hub/api/user"', "hub"), path)
            assert own_host.startswith("BLOCKED:"), f"code in carla's lab read {path} on her own host: {own_host[:200]}"
    finally:
        context.close()
    for path in ("/hub/login", "/hub/home", "/hub/api/user"):
        answer = requests.get(f"http://127.0.0.1:{port}{path}", headers={"Host": f"carla.localhost:{port}"}, timeout=30,
                              allow_redirects=False)
        assert answer.status_code == 302 and answer.headers["Location"] == f"{hub_origin}{path}", (
            f"{path} on carla's host answered {answer.status_code} {answer.headers.get('Location')}")
    answer = requests.get(f"http://127.0.0.1:{port}/hub/login", headers={"Host": f"localhost:{port}"}, timeout=30,
                          allow_redirects=False)
    assert answer.status_code == 200 and "password" in answer.text, "the hub's own host lost its login page"
