"""``python -m course.book``: build the web edition with Sphinx, warnings as errors, then check every link in it.

The lectures are run while the book is built (their outputs are cached in ``build/book/jupyter_cache``, so a
rebuild runs only the lectures that changed). ``--no-execute`` skips running them and shows the outputs saved in
the notebooks, for a quick look at the text.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import course
from course.book.site_links import broken_links

CHECKOUT = Path(course.__file__).resolve().parent.parent
DEFAULT_OUTPUT = CHECKOUT / "build" / "book"


def sphinx_command(output: Path, execute: bool, jobs: str) -> list[str]:
    """Sphinx's HTML builder on the checkout with the book's configuration in docs/; every warning is an error."""
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(CHECKOUT / "docs"), "-W", "--keep-going",
               "-n", "-j", jobs, "-d", str(output / "doctrees"), str(CHECKOUT), str(output / "html")]
    if not execute:
        command += ["-D", "nb_execution_mode=off"]
    return command


def build(output: Path = DEFAULT_OUTPUT, execute: bool = True, jobs: str = "auto") -> int:
    """Build the book into ``output/html``; 0 when Sphinx had no warning and every internal link leads somewhere."""
    if not (CHECKOUT / "docs" / "conf.py").is_file():
        print(f"the book's sources (docs/conf.py) are missing under {CHECKOUT}: build it from a checkout of the kit",
              file=sys.stderr)
        return 2
    status = subprocess.run(sphinx_command(output, execute, jobs), cwd=CHECKOUT).returncode
    if status != 0:
        print("the book did not build cleanly: Sphinx's warnings above say where", file=sys.stderr)
        return status
    broken = broken_links(output / "html")
    for link in broken:
        print(f"broken link: {link}", file=sys.stderr)
    if broken:
        return 1
    print(f"the book is in {output / 'html'}: open index.html there, or serve it with "
          f"`python -m http.server --directory {output / 'html'}`")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.book", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="where the book goes (its pages in OUTPUT/html); default: build/book in the checkout")
    parser.add_argument("--no-execute", action="store_true",
                        help="do not run the lectures: show the outputs saved in them (quick, but without figures)")
    parser.add_argument("--jobs", default="auto", help="how many processes Sphinx reads with (default: one per core)")
    arguments = parser.parse_args(argv)
    return build(arguments.output.resolve(), execute=not arguments.no_execute, jobs=arguments.jobs)
