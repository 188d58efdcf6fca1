"""The whole test run's settings — threads, workers, the order of the files — and the browser tests' fixtures.

This folder is the first of pyproject's testpaths, so pytest reads this file before it collects the lectures
and solutions too, and its environment reaches every notebook kernel the run starts.
"""

import os
import shutil
import subprocess

import pytest

from browser_session import (CHROMIUM, CHROMIUM_ARGS, JUPYTERLAB_SETTINGS, ROOT, WIDGET_MANAGER, playwright_api,
                             stop_kernels, write_probes)
from course import workspace
from lab_server import jupyterlab
from sandbox_required import PROBLEM, requires_sandbox
from shared_class import classes_in, grade_classes
from shared_folder import built_once

# pytest-xdist runs test files side by side, one worker per core (pyproject: -n auto). Each notebook kernel,
# grading kernel and training loop then gets one core's worth of threads: more only makes them wait on
# each other (on 2 cores the serial suite was slower with torch's two threads than pinned to one core).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

MAX_WORKERS = 4  # past that the few long files below set the pace: more workers would wait idle at the end

# The files that take longest (measured on 2 cores on 2026-12-06, in minutes), started first so that no worker is
# left with a long file at the end while the other waits idle; pyproject's --no-loadscope-reorder keeps this order.
LONGEST_FIRST = (
    "tests/test_grader.py",                  # 2.6: the run's shared class graded (shared_class.py), then read
    "tests/test_browser_lectures.py",        # 4.7: every lecture in JupyterLab in Chromium
    "tests/test_autograde.py",               # 2: a class of misbehaving students in the sandbox
    "tests/test_browser_lab_and_checks.py",  # 1.1
    "tests/test_hub.py",                     # 1.1: the course server's class day in Chromium (as root)
    "tests/test_self_check.py",              # 1.1: one lab graded in a scratch course
    "tests/test_book.py",                    # 0.6: the web edition built (both languages), shared with the browser's
    "tests/test_exchange.py",                # 0.6: real accounts, nbgrader's exchange, a graded round (as root)
    "tests/test_grader_cli.py",              # 0.5: `grader check` with nbgrader's own commands
    "tests/test_autograde_resume.py",        # 0.5
    "tests/test_grading_pipeline.py",        # 0.3
    "tests/test_autograde_lock.py",          # 0.2: a course folder named course graded end to end, the lock
)


def pytest_xdist_auto_num_workers(config):
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what they do
def pytest_collection_modifyitems(config, items):
    run_elsewhere = run_by_the_browser_tests(items) + run_by_the_shared_class(items)
    if run_elsewhere:
        config.hook.pytest_deselected(items=run_elsewhere)
        deselected = set(run_elsewhere)
        items[:] = [item for item in items if item not in deselected]

    def rank(item):
        path = item.path.relative_to(config.rootpath).as_posix()
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: every other file keeps its place


def run_by_the_browser_tests(items) -> list:
    """nbval's cells of every lecture that test_browser_lectures.py runs in this session: that test executes the
    lecture in JupyterLab and compares the checked outputs as nbval does, so each lecture runs once. Where the browser
    tests are skipped (no Chromium) or deselected (``-m "not slow"``), nbval runs the lectures."""
    lectures = ROOT / "course" / "lectures"
    in_browser = {item.callspec.params["lecture"] for item in items
                  if item.path.name == "test_browser_lectures.py" and hasattr(item, "callspec")}
    return [item for item in items if item.path.parent == lectures and item.path.name in in_browser]


@pytest.fixture(scope="session")
def graded_course(request, tmp_path_factory):
    """The course of the run's one simulated class, graded once for all workers (shared_class.py): in the sandbox
    where the machine has one, else without it and without the modules that require it."""
    items = [item for item in request.session.items
             if PROBLEM is None or requires_sandbox not in getattr(getattr(item, "module", None), "pytestmark", [])]
    classes = classes_in(items)
    return built_once(tmp_path_factory, "graded-course",
                      lambda root: grade_classes(root, classes, sandboxed=PROBLEM is None))


def run_by_the_shared_class(items) -> list:
    """nbval's cells of every solution when test_grader.py runs in this session: its student who solved everything
    runs each solution in the sandbox, scores full marks and has no error in any cell (nothing in a solution is an
    output nbval checks), so each solution runs once. Under ``-m "not slow"`` nbval runs them."""
    solutions = ROOT / "solutions"
    graded = {item.callspec.params["assignment"] for item in items
              if item.path.name == "test_grader.py" and hasattr(item, "callspec")}
    return [item for item in items if item.path.parent.parent == solutions and item.path.parent.name in graded]


# -- the browser tests' JupyterLab and Chromium (the modules using them call browser_session.require_browser) ----

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A student's JupyterLab as the README starts it (``python -m course.workspace --open``): the student's
    configuration, over a workspace made by course.workspace inside a git checkout of its own (the kit's
    .gitignore, committed), so that a test can ask ``git status`` what running the notebooks left behind.
    Yields (workspace, base URL); the probe notebooks are in the workspace's probes/."""
    checkout = tmp_path_factory.mktemp("checkout")
    shutil.copyfile(ROOT / ".gitignore", checkout / ".gitignore")
    for command in (["init", "-q"], ["add", ".gitignore"],
                    ["-c", "user.name=student", "-c", "user.email=student@example.org", "commit", "-qm", "clone"]):
        subprocess.run(["git", *command], cwd=checkout, check=True)
    root = checkout / workspace.DEFAULT_FOLDER
    workspace.create(root)
    write_probes(root / "probes")
    with jupyterlab(root, tmp_path_factory.mktemp("jupyter-home"), JUPYTERLAB_SETTINGS,
                    environ=workspace.student_environment()) as base:
        yield root, base


@pytest.fixture(scope="module")
def served_without_widget_manager(tmp_path_factory):
    """JupyterLab as it is when ipywidgets' front end is missing from the install."""
    root = tmp_path_factory.mktemp("student-without-widgets")
    write_probes(root / "probes")
    with jupyterlab(root, tmp_path_factory.mktemp("jupyter-home"), JUPYTERLAB_SETTINGS,
                    disabled_extensions=(WIDGET_MANAGER,)) as base:
        yield root, base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


@pytest.fixture
def lab(served, page):
    """The page, and the base URL of the JupyterLab it talks to; the kernels it started are stopped after."""
    _, base = served
    yield page, base
    stop_kernels(base)


@pytest.fixture
def lab_without_widget_manager(served_without_widget_manager, page):
    _, base = served_without_widget_manager
    yield page, base
    stop_kernels(base)
