"""The contributors' map (docs/contributors.md) names every module of the kit and nothing that is gone.

A module added without a line on the map, or a line left behind by a module that moved, fails here: the map is
the newcomer's way into the house, and a map that is wrong in one place cannot be trusted in the others.
"""

import re
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
MAP = CHECKOUT / "docs" / "contributors.md"
MAPPED_FOLDERS = ("course", "grader", "tests", "deploy")
# a row of the map's tables
MAP_ROW = re.compile(r"^\| `((?:course|grader|tests|deploy)/[\w/]+?\.(?:py|js))` \|", re.MULTILINE)


def modules_in_checkout() -> set[str]:
    """Every Python (and page-side JavaScript) file of the kit, as a path from the checkout, packages' own included."""
    found = set()
    for folder in MAPPED_FOLDERS:
        for path in (CHECKOUT / folder).rglob("*"):
            if path.suffix in (".py", ".js") and "lectures" not in path.parts and "node_modules" not in path.parts:
                found.add(path.relative_to(CHECKOUT).as_posix())
    return found


def is_test_module(path: str) -> bool:
    return path.startswith("tests/test_")


def modules_on_map() -> set[str]:
    return set(MAP_ROW.findall(MAP.read_text(encoding="utf-8")))


def test_every_module_is_on_the_map():
    missing = sorted(path for path in modules_in_checkout() - modules_on_map() if not is_test_module(path))
    assert not missing, f"add a line for each to {MAP.relative_to(CHECKOUT)}: {', '.join(missing)}"


def test_the_map_names_no_module_that_is_gone():
    gone = sorted(modules_on_map() - modules_in_checkout())
    assert not gone, f"{MAP.relative_to(CHECKOUT)} names modules that do not exist: {', '.join(gone)}"


def test_the_map_is_found_by_what_it_names():
    """The check above is only as good as its pattern: the map must name many modules, in each mapped folder."""
    named = modules_on_map()
    for folder in MAPPED_FOLDERS:
        least = 1 if folder == "deploy" else 5  # deploy/ holds one Python file, the hub's configuration
        named_here = sum(path.startswith(folder + "/") for path in named)
        assert named_here >= least, f"the map names almost nothing in {folder}/"
