"""Accounts that hold, against a real hub (deploy/jupyterhub/): no servers are started here.

A batch with one bad name creates nothing; an initial password leads only to the change-password
page; changing a password asks for the current one; a change made while the instructor resets
thirty other passwords survives; failed logins are throttled per account and address (another
address still logs in; a reset starts afresh) and then per address, whatever address the client
claims (the last test: every client of this machine reaches the hub from one address); the admin's
own password survives `hub up`.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests

from harness.errors import HarnessError
from harness.hub.accounts import Accounts, create_accounts, reset_passwords
from harness.hub.client import Hub, change_password, login
from harness.hub.credentials import admin_password_file
from harness.hub.instance import start_hub
from harness.hub.settings import HubSettings
from tests.utils.cli import HARNESS, assert_one_error_line, run_to_end
from tests.utils.hub import hub_instance

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

STUDENTS = [f"est{number:02d}" for number in range(1, 41)]
NEW_PASSWORD = "mi-clave-propia-7"


@pytest.fixture(scope="module")
def hub(docker_engine: docker.DockerClient, cpu_image: str) -> Iterator[Hub]:
    with hub_instance(docker_engine, "dl-lab-accounts", variant="cpu", gpu=False) as started:
        yield started


@pytest.fixture(scope="module")
def class_accounts(hub: Hub) -> Accounts:
    return create_accounts(hub, STUDENTS)


def logged_in(hub: Hub, session: requests.Session) -> str:
    """The name the hub's home page greets behind the session's cookie ("" when it sends to the login page)."""
    response = session.get(f"{hub.url}/hub/home", timeout=30, allow_redirects=False)
    if response.status_code != 200:
        return ""
    return next((name for name in [*STUDENTS, "profesor"] if f'<span class="me-1">{name}</span>' in response.text), "?")


def try_login(hub: Hub, user: str, password: str) -> requests.Session:
    try:
        return login(hub, user, password)
    except HarnessError:
        return requests.Session()


def test_a_batch_with_one_bad_name_creates_nothing_and_names_it(hub: Hub, tmp_path: Path) -> None:
    listing = tmp_path / "batch.csv"
    result = run_to_end([*HARNESS, "hub", "users", "--name", hub.name, "eve", "frank", "..", "--out", str(listing)])
    assert_one_error_line(result, "'..'", what="a batch with the name '..'")
    assert not {"eve", "frank"} & hub.user_names(), "accounts of the batch were created before the bad name was seen"
    assert not listing.exists(), "a password list was written for a batch that did nothing"


def test_the_password_list_says_what_was_done(hub: Hub, class_accounts: Accounts) -> None:
    assert class_accounts.password_list is not None
    with class_accounts.password_list.open() as handle:
        rows = {row["username"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == STUDENTS
    assert all(row["status"] == "created, initial password set" and len(row["password"]) >= 10 for row in rows.values())


def test_an_initial_password_leads_only_to_the_change_page(hub: Hub, class_accounts: Accounts) -> None:
    student, initial = STUDENTS[0], class_accounts.passwords[STUDENTS[0]]
    with pytest.raises(HarnessError, match="initial password"):
        login(hub, student, initial)
    session = login(hub, student, initial, new_password=NEW_PASSWORD)
    assert logged_in(hub, session) == student, "choosing a new password did not log the student in"
    assert logged_in(hub, login(hub, student, NEW_PASSWORD)) == student, "the new password asks for another change"
    with pytest.raises(HarnessError):
        login(hub, student, initial)


def test_changing_a_password_asks_for_the_current_one(hub: Hub, class_accounts: Accounts) -> None:
    student = STUDENTS[1]
    session = login(hub, student, class_accounts.passwords[student], new_password=NEW_PASSWORD)
    refused = change_password(hub, session, student, current="no-es-la-actual", new="otra-clave-nueva-1")
    assert refused.status_code == 403 and "actual no es correcta" in refused.text, refused.status_code
    login(hub, student, NEW_PASSWORD)
    accepted = change_password(hub, session, student, current=NEW_PASSWORD, new="otra-clave-nueva-1")
    assert accepted.status_code == 200 and "Contraseña cambiada" in accepted.text, accepted.text[:300]
    login(hub, student, "otra-clave-nueva-1")


def test_a_change_during_a_batch_reset_survives(hub: Hub, class_accounts: Accounts, tmp_path: Path) -> None:
    student, others = STUDENTS[2], STUDENTS[3:33]  # thirty others; the last ones stay for the tests below
    session = login(hub, student, class_accounts.passwords[student], new_password=NEW_PASSWORD)
    listing = tmp_path / "reset.csv"
    reset = threading.Thread(target=lambda: run_to_end(
        [*HARNESS, "hub", "users", "--name", hub.name, "--reset", *others, "--out", str(listing)], timeout_s=300))
    reset.start()
    try:
        changes = 0
        current = NEW_PASSWORD
        while reset.is_alive():  # change it back and forth for as long as the reset writes
            new = f"{NEW_PASSWORD}-{changes}"
            answer = change_password(hub, session, student, current=current, new=new)
            if answer.status_code != 200:  # the busy proxy gave up waiting: the change may or may not be made
                assert answer.status_code in {502, 503, 504}, f"a change during the reset failed: {answer.status_code}"
                current = new if logged_in(hub, try_login(hub, student, new)) else current
                continue
            current, changes = new, changes + 1
    finally:
        reset.join()
    assert changes >= 2, "the reset ended before a change could overlap it"
    assert listing.exists(), "the reset wrote no list"
    assert logged_in(hub, login(hub, student, current)) == student, "the change made during the reset was undone"
    with listing.open() as handle:
        reset_row = next(csv.DictReader(handle))
    login(hub, reset_row["username"], reset_row["password"], new_password=NEW_PASSWORD)


def test_the_admins_own_password_survives_hub_up(docker_engine: docker.DockerClient, hub: Hub) -> None:
    admin = "profesor"
    saved = admin_password_file(hub.name).read_text().strip()
    session = login(hub, admin, saved)
    changed = change_password(hub, session, admin, current=saved, new="clave-del-profesor-9")
    assert changed.status_code == 200, changed.text[:300]
    settings = HubSettings(name=hub.name, port=0, restart=False, mem_limit="1G", variant="cpu", gpu=False)
    restarted = start_hub(settings)
    hub.url, hub.api_token, hub.container = restarted.url, restarted.api_token, restarted.container
    login(hub, admin, "clave-del-profesor-9")
    with pytest.raises(HarnessError):
        login(hub, admin, saved)


# A login from another address than this machine's: from inside the hub's container, through its proxy.
LOGIN_FROM_THE_HUB = r"""
import http.cookiejar, sys, urllib.error, urllib.parse, urllib.request
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), Stay)
opener.open("http://127.0.0.1:8000/hub/login", timeout=30).read()
xsrf = next(cookie.value for cookie in jar if cookie.name == "_xsrf")
form = urllib.parse.urlencode({"username": sys.argv[1], "password": sys.argv[2], "_xsrf": xsrf}).encode()
try:
    answer = opener.open("http://127.0.0.1:8000/hub/login?next=/hub/home", data=form, timeout=30)
    print(answer.status, answer.headers.get("Location", ""))
except urllib.error.HTTPError as error:
    print(error.code, error.headers.get("Location", ""))
"""


def login_from_another_address(hub: Hub, user: str, password: str) -> str:
    """'STATUS LOCATION' of a login posted from the hub's container (address 127.0.0.1, not this machine's)."""
    code, output = hub.container.exec_run(["python3", "-c", LOGIN_FROM_THE_HUB, user, password])
    assert code == 0, output.decode(errors="replace")[-500:]
    answer: str = output.decode(errors="replace").strip()
    return answer


def test_failed_logins_lock_out_only_that_address_and_a_reset_starts_afresh(hub: Hub, class_accounts: Accounts) -> None:
    """Five wrong passwords for one account: that address waits, even with the right password; the same account
    from another address logs in (nobody can lock the instructor out); a reset by the instructor starts afresh."""
    student = STUDENTS[35]
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=30)
    answers = [session.post(f"{hub.url}/hub/login", timeout=30, allow_redirects=False,
                            data={"username": student, "password": f"adivina-{guess}",
                                  "_xsrf": session.cookies.get("_xsrf", "")}) for guess in range(6)]
    assert [answer.status_code for answer in answers[:4]] == [403] * 4
    assert answers[-1].status_code == 429 and "Demasiados intentos fallidos" in answers[-1].text
    with pytest.raises(HarnessError, match="throttled"):  # the right password waits too, from this address
        login(hub, student, class_accounts.passwords[student], new_password=NEW_PASSWORD)
    elsewhere = login_from_another_address(hub, student, class_accounts.passwords[student])
    assert elsewhere.startswith("302 ") and "change-password" in elsewhere, (
        f"the account is locked for every address after failures from one: {elsewhere}")
    login(hub, STUDENTS[36], class_accounts.passwords[STUDENTS[36]], new_password=NEW_PASSWORD)  # others are not
    reset = reset_passwords(hub, [student])
    login(hub, student, reset.passwords[student], new_password=NEW_PASSWORD)  # the reset started the count afresh


def test_failed_logins_from_one_address_are_throttled(hub: Hub, class_accounts: Accounts) -> None:
    """Thirty wrong passwords for thirty names: the address waits, even for a right password, whatever address the
    client claims (X-Forwarded-For, X-Real-IP); the hub's log has the address its proxy saw, not the claimed ones."""
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=30)
    for number in range(30):
        session.post(f"{hub.url}/hub/login", timeout=30, allow_redirects=False,
                     headers={"X-Forwarded-For": f"10.9.8.{number}", "X-Real-IP": f"10.9.7.{number}"},
                     data={"username": f"nadie{number}", "password": "x" * 12, "_xsrf": session.cookies.get("_xsrf", "")})
    student = STUDENTS[37]
    with pytest.raises(HarnessError, match="throttled"):
        login(hub, student, class_accounts.passwords[student], new_password=NEW_PASSWORD)
    log = hub.log_text()
    assert "POST /hub/login" in log, "the hub's log has no access line of the logins"
    assert "10.9.7." not in log and "10.9.8." not in log, "the hub logged an address the client made up"
