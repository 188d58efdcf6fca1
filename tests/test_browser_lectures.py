"""Every lecture as a student meets it: opened in JupyterLab in a real (headless) Chromium, Run All, no cell
shows an error, the outputs nbval checks are the notebook's own (this run replaces nbval's, so that the suite
executes each lecture once: see conftest.py), every widget renders, and moving a control of the topic's explorer
changes what it shows. At a laptop's and a desktop's window size (1366x768, 1920x1080) no widget's text is cut
off or drawn over another's and no figure is stretched past its pixels. The lectures run in a student's workspace
(course.workspace) as the README starts it, and git sees nothing new afterwards. Every number the text quotes is
in the run's outputs, in a shipped result, or in tests/quoted_numbers.toml with its source.
Screenshots of each explorer at both sizes go to ``browser-artifacts/`` (or ``$BROWSER_ARTIFACTS``) for a person to
review.
"""

import subprocess
from pathlib import Path

import nbformat
import pytest

from browser_session import (LECTURES, ROOT, check_explorer_responds, check_layout_at_window_sizes,
                             check_ran_without_errors, check_widgets_rendered, open_and_run, require_browser)
from checked_outputs import output_differences
from quoted_numbers import shipped_text, unshown_numbers

pytestmark = pytest.mark.slow
require_browser()


@pytest.fixture(scope="module")
def shipped():
    return shipped_text()


@pytest.mark.parametrize("lecture", LECTURES)
def test_lecture_runs_and_its_explorer_responds(lab, shipped, lecture):
    page, base = lab
    notebook = open_and_run(page, base, f"lectures/{lecture}")
    check_ran_without_errors(notebook, lecture)
    differences = output_differences(notebook, nbformat.read(ROOT / "course" / "lectures" / lecture, as_version=4))
    assert not differences, f"{lecture}: outputs that nbval checks differ:\n" + "\n".join(differences)
    unshown = unshown_numbers(notebook, Path(lecture).stem, shipped)
    assert not unshown, (f"{lecture}: the text quotes {unshown}, which neither the run shows nor a shipped result "
                         f"holds: show them, or name their source in tests/quoted_numbers.toml")
    check_widgets_rendered(page, notebook, lecture)
    check_explorer_responds(page, lecture)
    check_layout_at_window_sizes(page, lecture)


def test_running_the_lectures_leaves_git_status_clean(served):
    """Last in this file, after the lectures above ran and were saved in the student's workspace inside a git
    checkout (conftest's ``served``): git sees nothing new, so a student's ``git pull`` cannot conflict."""
    workspace_folder, _ = served
    ran = [name for name in LECTURES
           if any(cell.get("execution_count") for cell in nbformat.read(workspace_folder / "lectures" / name, 4).cells)]
    if not ran:
        pytest.skip("no lecture ran in this workspace: run this file whole")
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=workspace_folder.parent,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", f"after {len(ran)} lecture(s) ran, git shows:\n{status}"
