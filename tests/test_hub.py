"""The course server end to end: ``grader hub setup`` makes the accounts, the exchange and the servers'
configuration for a class of three, and ``grader release --exchange`` hands lab 01 out; ``grader hub start`` runs
JupyterHub with configurable-http-proxy. A student logs in with the first password the set-up listed, and their
JupyterLab comes up, as their own account, in a control group capped at the course's memory; a wrong password and
an account outside the course are refused. Then a class day in Chromium (see test_a_class_day_in_the_browser): fetch,
solve, submit on time and late, the instructor's round, each student's feedback. Prints what an idle student server
costs in memory, how long login took and the instructor's round, for docs/instructors.md.

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
from datetime import datetime, timedelta, timezone
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from browser_session import ARTIFACTS, require_browser
from course_server import require_course_server, unavailable
from lab_server import free_port
from grader.hub import limits
from grader.notebooks import nbgrader_metadata, read_notebook, strip_solution_markers

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PROXY = ROOT / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy"
INSTRUCTOR, GROUP, STUDENTS, OUTSIDER = "dlh-teach", "dlh-class", ("dlh-ada", "dlh-bob", "dlh-cyd"), "dlh-out"
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
    check = subprocess.run([*grader, "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr[-3000:]
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
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(base / "hub.log", ARTIFACTS / "hub.log")  # for a failure's story
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



def log_in(browser, url: str, student: str, password: str):
    """A Chromium page logged into the hub as ``student``, on their running JupyterLab."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(f"{url}/hub/login")
    page.fill("#username_input", student)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_selector(".jp-LabShell", timeout=120_000)
    return page


def assignment_list(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()


def fetch(page) -> None:
    assignment_list(page)
    page.get_by_role("button", name="Fetch", exact=True).first.click(timeout=60_000)
    page.get_by_role("button", name="Submit", exact=True).first.wait_for(timeout=60_000)


def submit(page) -> None:
    assignment_list(page)
    page.get_by_role("button", name="Submit", exact=True).first.click(timeout=60_000)
    page.get_by_text("Fetch Feedback").first.wait_for(timeout=60_000)


def answer_of(student: str) -> str:
    """Exercise 1 of lab 01 as the solution has it, signed, so that a student's work can be told from another's."""
    source = read_notebook(ROOT / "solutions" / LAB / f"{LAB}.ipynb")
    answer = strip_solution_markers(next(cell.source for cell in source.cells
                                         if nbgrader_metadata(cell).get("grade_id") == "ex1_sigmoid"))
    return f"# {student}'s answer\n{answer}"


def solve_exercise_1(page, url: str, home: Path, student: str) -> None:
    """Open the fetched lab in JupyterLab, type exercise 1's answer over its placeholder, save."""
    page.goto(f"{url}/user/{student}/lab/tree/{LAB}/{LAB}.ipynb")
    cell = page.locator(".jp-Notebook .jp-CodeCell", has_text="def sigmoid(x)").first
    cell.wait_for(timeout=120_000)
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer_of(student))
    page.keyboard.press("Control+s")
    saved = home / student / LAB / f"{LAB}.ipynb"
    deadline = time.monotonic() + 30
    while f"{student}'s answer" not in saved.read_text() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert f"{student}'s answer" in saved.read_text(), f"{student}'s answer was not saved"


def look_for_others_work(page, url: str, student: str, exchange: Path, home: Path) -> str:
    """What a new notebook of ``student``'s prints when it lists the exchange's inbound folder and the homes."""
    page.goto(f"{url}/user/{student}/lab?reset")
    page.locator(".jp-LauncherCard[data-category='Notebook']").first.click(timeout=60_000)
    page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.click(timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120_000)
    page.keyboard.insert_text(
        "import os\n"
        f"for folder in ({str(exchange / 'dl-test' / 'inbound')!r}, {str(home)!r}):\n"
        "    try:\n"
        "        print('LISTED', folder, sorted(os.listdir(folder)))\n"
        "    except OSError as error:\n"
        "        print('REFUSED', folder, type(error).__name__)\n"
        "print('DONE')")
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-OutputArea-output", has_text="DONE").first
    try:
        output.wait_for(timeout=120_000)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hub-look-for-others-work.png"))
        raise
    return output.inner_text()


def fetched_feedback(page, url: str, home: Path, student: str) -> tuple[Path, str]:
    """Fetch Feedback in the Assignment List; the page it brought home, and that page as the browser shows it."""
    assignment_list(page)
    page.get_by_role("button", name="Fetch Feedback").first.click(timeout=60_000)
    deadline = time.monotonic() + 60
    while not list((home / student / LAB / "feedback").rglob("*.html")) and time.monotonic() < deadline:
        time.sleep(0.5)
    (fetched,) = list((home / student / LAB / "feedback").rglob("*.html"))
    page.goto(f"{url}/user/{student}/files/{fetched.relative_to(home / student).as_posix()}")
    return fetched, page.locator("body").inner_text()


def hidden_test_lines() -> list[str]:
    """The lines of lab 01's hidden tests that appear nowhere in the release (long enough to mean something)."""
    released = "\n".join(cell.source for cell in read_notebook(ROOT / "labs" / LAB / f"{LAB}.ipynb").cells)
    hidden = set()
    for cell in read_notebook(ROOT / "solutions" / LAB / f"{LAB}.ipynb").cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            block = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
            hidden |= {line.strip() for line in block.splitlines() if len(line.strip()) >= 12}
    return sorted(line for line in hidden if line not in released)


def test_a_class_day_in_the_browser(hub, browser):
    """Three students log in and fetch lab 01 from nbgrader's Assignment List; one solves exercise 1, one submits
    it unsolved, both on time; the due date passes (the instructor's course.toml); the third solves it and submits
    late. One of them tries to list the exchange's submissions and the other homes from a notebook. The instructor
    collects from the exchange, autogrades in the sandbox and hands feedback back; each student's Fetch Feedback
    brings their own graded notebook home, which their browser shows with their own score (the late one's less
    its penalty, and why), nothing of another's work and no hidden test; another student's server refuses them."""
    url, passwords, base, course = hub
    home, exchange = base / "home", base / "exchange"
    ada, bob, cyd = STUDENTS
    pages = {student: log_in(browser, url, student, passwords[student]) for student in STUDENTS}
    for student in STUDENTS:
        fetch(pages[student])
    solve_exercise_1(pages[ada], url, home, ada)
    submit(pages[ada])
    submit(pages[bob])
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    (course / "course.toml").write_text(f"[late]\npercent_per_day = 10\n[assignments.{LAB}]\n"
                                        f"due = {due.isoformat()}\n")
    solve_exercise_1(pages[cyd], url, home, cyd)
    while datetime.now(timezone.utc) <= due:
        time.sleep(0.1)
    submit(pages[cyd])

    looked = look_for_others_work(pages[ada], url, ada, exchange, home)
    assert f"REFUSED {exchange / 'dl-test' / 'inbound'} PermissionError" in looked, looked
    assert bob not in looked and cyd not in looked, looked

    grader = [sys.executable, "-m", "grader", "--root", str(course)]
    took = {}
    for step in (["collect", LAB, "--exchange"], ["autograde", LAB, "--no-progress"], ["feedback", LAB, "--exchange"]):
        started = time.monotonic()
        completed = subprocess.run([*grader, *step], capture_output=True, text=True, timeout=600)
        took[step[0]] = time.monotonic() - started
        assert completed.returncode == 0, f"grader {step[0]}:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
        assert step[0] != "collect" or all(student in completed.stdout for student in STUDENTS), completed.stdout
    assert course.owner() == "root" and course.stat().st_mode & 0o777 == 0o750 and course.group() == INSTRUCTOR
    print(f"\nthe instructor's round for {len(STUDENTS)} students: " +
          ", ".join(f"{step} {seconds:.1f} s" for step, seconds in took.items()))

    hidden = hidden_test_lines()
    assert hidden, "lab 01 should have hidden tests to keep hidden"
    expected = {ada: ("Score: 10.0 / 100.0", None), bob: ("Score: 0.0 / 100.0", None),
                cyd: ("Score: 9.0 / 100.0", "after the due date")}
    for student, (score, late) in expected.items():
        fetched, shown = fetched_feedback(pages[student], url, home, student)
        assert fetched.owner() == student
        assert score in shown, f"{student} should see {score!r}:\n{shown[:1500]}"
        assert (late in shown) if late else ("after the due date" not in shown), shown[:1500]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pages[student].screenshot(path=str(ARTIFACTS / f"hub-feedback-{student}.png"))
        others = [other for other in STUDENTS if other != student]
        assert not any(f"{other}'s answer" in shown for other in others)
        assert not [line for line in hidden if line in shown], "the feedback shows a hidden test"
        for path in (home / student).rglob("*"):
            if path.is_file() and path.suffix in (".ipynb", ".html"):
                text = path.read_text(errors="replace")
                assert not any(f"{other}'s answer" in text for other in others), path
        response = pages[student].request.get(f"{url}/user/{others[0]}/files/{LAB}/{LAB}.ipynb",
                                              max_redirects=0)
        assert response.status in (302, 403, 404) and f"{others[0]}'s answer" not in response.text(), (
            response.status, response.text()[:500])
    for page in pages.values():
        page.context.close()
    check_the_formgrader(browser, url, passwords[INSTRUCTOR], due)


def check_the_formgrader(browser, url: str, password: str, due: datetime) -> None:
    """The instructor's JupyterLab has nbgrader's formgrader on the same gradebook: the class, its scores (before
    the late penalty, as nbgrader's table shows them) and the due date."""
    page = log_in(browser, url, INSTRUCTOR, password)
    try:
        base = f"{url}/user/{INSTRUCTOR}/formgrader"
        page.goto(f"{base}/manage_submissions/{LAB}")
        for student in STUDENTS:
            page.get_by_text(student).first.wait_for(timeout=60_000)
        submissions = page.request.get(f"{base}/api/submissions/{LAB}").json()
        assert {item["student"]: item["score"] for item in submissions} == {STUDENTS[0]: 10, STUDENTS[1]: 0,
                                                                              STUDENTS[2]: 10}
        assignment = page.request.get(f"{base}/api/assignment/{LAB}").json()
        assert assignment["duedate"].startswith(due.replace(tzinfo=None).isoformat()), assignment
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hub-formgrader.png"))
    finally:
        page.context.close()
