"""The course server end to end: ``grader hub setup`` makes the accounts, the exchange and the servers'
configuration for a class of two, and ``grader release --exchange`` hands lab 01 out; ``grader hub start`` runs
JupyterHub with configurable-http-proxy. A student logs in with the first password the set-up listed, and their
JupyterLab comes up, as their own account, in a control group capped at the course's memory; a wrong password and
an account outside the course are refused. In Chromium, a student fetches lab 01 from nbgrader's Assignment List
and submits it; the instructor collects, autogrades and hands feedback back; the student's Fetch Feedback brings
the graded notebook home. Prints what an idle student server costs in memory and how long login took, for
docs/instructors.md.

Needs root, bubblewrap, Chromium and deploy/node_modules (npm ci --prefix deploy); skipped elsewhere, required where
``COURSE_SERVER_REQUIRED=1`` and ``COURSE_BROWSER_REQUIRED=1`` (.ci/run)."""

import csv
import http.cookiejar
import json
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from browser_session import require_browser
from course_server import require_course_server, unavailable
from lab_server import free_port
from grader.hub import limits

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PROXY = ROOT / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy"
INSTRUCTOR, GROUP, STUDENTS, OUTSIDER = "dlh-teach", "dlh-class", ("dlh-ada", "dlh-bob"), "dlh-out"
MEMORY_GIB = 1.0
LAB = "01_backprop"


require_course_server()
require_browser()
if not PROXY.is_file():
    unavailable("configurable-http-proxy is not installed: npm ci --prefix deploy")


def hub_port() -> int:
    """A port free with the two after it (the hub's API and the proxy's)."""
    while True:
        port = free_port()
        if port < 65000 and all(free(port + offset) for offset in (1, 2)):
            return port


def free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def hub():
    base = Path(tempfile.mkdtemp(prefix="dlh-", dir="/tmp"))
    base.chmod(0o755)
    course = base / "course"
    for folder in ("solutions", "labs"):
        shutil.copytree(ROOT / folder / LAB, course / folder / LAB)
    port = hub_port()
    (course / "pyproject.toml").write_text(
        "[tool.course.server]\n"
        f'course_id = "dl-test"\nexchange_root = "{base / "exchange"}"\nhomes = "{base / "home"}"\n'
        f'hub_state = "{base / "state"}"\ninstructor = "{INSTRUCTOR}"\nstudents_group = "{GROUP}"\n'
        f"memory_gib = {MEMORY_GIB}\ncpus = 1.0\nport = {port}\n")
    roster = base / "students.csv"
    roster.write_text("id\n" + "".join(f"{name}\n" for name in STUDENTS))
    (base / "home").mkdir()
    accounts = (INSTRUCTOR, *STUDENTS, OUTSIDER)
    for name in accounts:
        subprocess.run(["userdel", "-r", name], capture_output=True)
    subprocess.run(["groupdel", GROUP], capture_output=True)
    grader = [sys.executable, "-m", "grader", "--root", str(course), "hub"]
    setup = subprocess.run([*grader, "setup", "--roster", str(roster)], capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr[-3000:]
    release = subprocess.run([*grader[:-1], "release", LAB, "--exchange"], capture_output=True, text=True)
    assert release.returncode == 0, release.stderr[-3000:]
    subprocess.run(["useradd", "--no-create-home", OUTSIDER], check=True)
    subprocess.run(["chpasswd"], input=f"{OUTSIDER}:outside-password\n", text=True, check=True)
    passwords = dict(csv.reader((base / "state" / "first-passwords.csv").open()))
    log = (base / "hub.log").open("w")
    server = subprocess.Popen([*grader, "start"], stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not reachable(f"{url}/hub/api/"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the hub did not start:\n{hub_log(base)}")
            time.sleep(0.5)
        yield url, passwords, base, course
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        for name in accounts:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
            subprocess.run(["userdel", "-r", name], capture_output=True)
            limits.remove(name)
        subprocess.run(["groupdel", GROUP], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def hub_log(base: Path) -> str:
    return (base / "hub.log").read_text(errors="replace")[-4000:]


def reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def logged_in(url: str, name: str, password: str):
    """A browser-like session after posting the hub's login form; (opener, the final URL)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{url}/hub/login", timeout=30).read()
    xsrf = next((cookie.value for cookie in jar if cookie.name == "_xsrf"), "")
    form = urllib.parse.urlencode({"username": name, "password": password, "_xsrf": xsrf}).encode()
    try:
        response = opener.open(f"{url}/hub/login?next=", data=form, timeout=120)
        return opener, response.geturl()
    except urllib.error.HTTPError as error:
        return opener, f"refused {error.code}"


def test_a_student_logs_in_and_gets_their_own_capped_jupyterlab(hub):
    url, passwords, base, _ = hub
    student = STUDENTS[0]
    started = time.monotonic()
    opener, landed = logged_in(url, student, passwords[student])
    deadline = time.monotonic() + 120
    status = None
    while time.monotonic() < deadline:
        try:  # JupyterLab's page, through the hub's OAuth (its cookie lets the API in), then the server's API
            with opener.open(f"{url}/user/{student}/lab", timeout=30) as page:
                page.read()
            with opener.open(f"{url}/user/{student}/api/status", timeout=10) as response:
                status = json.loads(response.read())
                break
        except (urllib.error.URLError, OSError, json.JSONDecodeError):
            time.sleep(0.5)
    ready = time.monotonic() - started
    assert status is not None, f"{student}'s server did not come up (login landed on {landed}):\n{hub_log(base)}"
    uids = {Path(f"/proc/{pid}").stat().st_uid for pid in limits.members(student) if Path(f"/proc/{pid}").exists()}
    assert pwd.getpwnam(student).pw_uid in uids, f"no process of {student}'s group runs as {student}: {uids}"
    assert limits.memory_limit(student) == int(MEMORY_GIB * 2 ** 30)
    memory = limits.memory_used(student)
    print(f"\nlogin to a running JupyterLab: {ready:.1f} s; an idle student server: {memory / 2 ** 20:.0f} MiB")


@pytest.mark.parametrize("who", ["wrong password", "outside the course"])
def test_the_hub_refuses_a_wrong_password_and_an_account_outside_the_course(hub, who):
    url, passwords, _, _ = hub
    name, password = (STUDENTS[1], "not-" + passwords[STUDENTS[1]]) if who == "wrong password" else (
        OUTSIDER, "outside-password")
    opener, landed = logged_in(url, name, password)
    assert "/hub/login" in landed or landed.startswith("refused") or "/hub/spawn" not in landed, landed
    with pytest.raises(urllib.error.HTTPError):
        opener.open(f"{url}/hub/api/user", timeout=10)



def test_a_student_fetches_submits_and_gets_feedback_in_the_browser(hub, browser):
    """In JupyterLab through the hub, as a student: Nbgrader > Assignment List, Fetch lab 01, Submit; the
    instructor collects from the exchange, autogrades and hands feedback back; the student's Fetch Feedback brings
    their own graded notebook into their home."""
    url, passwords, base, course = hub
    student = STUDENTS[1]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{url}/hub/login")
        page.fill("#username_input", student)
        page.fill("#password_input", passwords[student])
        page.click("#login_submit")
        page.wait_for_selector(".jp-LabShell", timeout=120_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
        page.get_by_role("button", name="Fetch", exact=True).first.click(timeout=60_000)
        page.get_by_role("button", name="Submit", exact=True).first.click(timeout=60_000)
        page.get_by_text("Fetch Feedback").first.wait_for(timeout=60_000)
        grader = [sys.executable, "-m", "grader", "--root", str(course)]
        for step in (["collect", LAB, "--exchange"], ["autograde", LAB, "--no-progress"],
                     ["feedback", LAB, "--exchange"]):
            completed = subprocess.run([*grader, *step], capture_output=True, text=True, timeout=600)
            assert completed.returncode == 0, f"grader {step[0]}:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
            assert step[0] != "collect" or student in completed.stdout, completed.stdout
        page.get_by_text("Fetch Feedback").first.click()
        home = Path(base / "home" / student)
        deadline = time.monotonic() + 60
        while not list((home / LAB / "feedback").rglob("*.html")) and time.monotonic() < deadline:
            time.sleep(0.5)
        (fetched,) = list((home / LAB / "feedback").rglob("*.html"))
        assert "Score" in fetched.read_text() and fetched.owner() == student
    finally:
        context.close()
