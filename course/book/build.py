"""``python -m course.book``: build the web edition with Sphinx, warnings as errors, then check every link in it.

The lectures run while the book is built, each edition's in its language (``COURSE_LANGUAGE``: the figures' and
explorers' words); their outputs are cached beside the site, one cache per edition (``build/book/.jupyter_cache``,
``.jupyter_cache_zh_CN``), so a rebuild runs only the lectures that changed. ``--no-execute`` shows the outputs saved in the notebooks
instead, for a quick look at the text, and ``--only 01`` runs lecture 01 alone. The launch buttons come from
``[tool.course.launch]`` in pyproject.toml; ``--repository`` and ``--jupyterhub`` replace it for one build. Every
edition is built, English at the site's root and each translation (docs/locales) in a folder of it, ``zh_CN/``;
``--lang zh_CN`` builds one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import course
from course.book.editions import SOURCE_LANGUAGE, edition_root
from course.book.site_links import broken_links
from course.language import LANGUAGE_VARIABLE
from course.translations.catalogues import LOCALES

CHECKOUT = Path(course.__file__).resolve().parent.parent
DEFAULT_OUTPUT = CHECKOUT / "build" / "book"


def languages_available() -> list[str]:
    """English, then every language with catalogues in docs/locales."""
    translated = sorted(path.name for path in LOCALES.glob("*") if (path / "LC_MESSAGES").is_dir())
    return [SOURCE_LANGUAGE, *translated]


def sphinx_command(output: Path, language: str, settings: dict[str, str], jobs: str) -> list[str]:
    """Sphinx's HTML builder on the checkout with the book's configuration in docs/, for one edition; every warning
    is an error. ``settings`` replace configuration values of docs/conf.py (Sphinx's ``-D name=value``)."""
    html = output / "html" / edition_root(language)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(CHECKOUT / "docs"), "-W", "--keep-going",
               "-n", "-j", jobs, "-d", str(output / "doctrees" / language), str(CHECKOUT), str(html)]
    edition = {"nb_execution_cache_path": str(execution_cache(output, language))}
    if language != SOURCE_LANGUAGE:
        edition["language"] = language
    for name, value in {**edition, **settings}.items():
        command += ["-D", f"{name}={value}"]
    return command


def execution_cache(output: Path, language: str) -> Path:
    """Where ``language``'s edition keeps its lectures' outputs: its own, as the same notebook draws other words."""
    return output / (".jupyter_cache" if language == SOURCE_LANGUAGE else f".jupyter_cache_{language}")


def kernel_environment(language: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """This process's environment for Sphinx and the lectures' kernels, speaking ``language``, less ``MPLBACKEND``:
    a kernel told to draw with Agg (as the test suite and CI tell theirs) would show no figure, and the book would
    have none."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("MPLBACKEND", LANGUAGE_VARIABLE)}
    if language != SOURCE_LANGUAGE:
        environment[LANGUAGE_VARIABLE] = language
    return environment


def build(output: Path = DEFAULT_OUTPUT, settings: dict[str, str] | None = None, jobs: str = "auto",
          languages: list[str] | None = None) -> int:
    """Build the book's editions (English at ``output/html``, each other language in a folder of it); 0 when Sphinx
    had no warning and every internal link of the site leads somewhere."""
    if not (CHECKOUT / "docs" / "conf.py").is_file():
        print(f"the book's sources (docs/conf.py) are missing under {CHECKOUT}: build it from a checkout of the kit",
              file=sys.stderr)
        return 2
    languages = languages or languages_available()
    unknown = sorted(set(languages) - set(languages_available()))
    if unknown:
        print(f"no edition in {', '.join(unknown)}: the book is written in {', '.join(languages_available())}",
              file=sys.stderr)
        return 2
    for language in languages:
        edition_settings = {**(settings or {}), "book_editions": ",".join(languages)}
        status = subprocess.run(sphinx_command(output, language, edition_settings, jobs), cwd=CHECKOUT,
                                env=kernel_environment(language)).returncode
        if status != 0:
            print(f"the {language} edition did not build cleanly: Sphinx's messages above say where", file=sys.stderr)
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
    parser = argparse.ArgumentParser(prog="python -m course.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="where the book goes (its pages in OUTPUT/html); default: build/book in the checkout")
    parser.add_argument("--no-execute", action="store_true",
                        help="do not run the lectures: show the outputs saved in them (quicker)")
    parser.add_argument("--only", nargs="+", metavar="LECTURE",
                        help="run only these lectures (e.g. 01 04_gan); the others show the outputs saved in them")
    parser.add_argument("--repository", help="the course's repository for the launch buttons, in place of "
                                             "pyproject.toml's (e.g. https://github.com/your-org/your-course)")
    parser.add_argument("--branch", help="the branch the launch buttons open, in place of pyproject.toml's")
    parser.add_argument("--jupyterhub", help="a JupyterHub for a launch button, e.g. https://hub.example.edu")
    parser.add_argument("--lang", nargs="+", metavar="LANGUAGE", dest="languages",
                        help=f"the editions to build (default: all, {' '.join(languages_available())})")
    parser.add_argument("--jobs", default="auto", help="how many processes Sphinx reads with (default: one per core)")
    arguments = parser.parse_args(argv)
    settings = {f"launch_{name}": value for name in ("repository", "branch", "jupyterhub")
                if (value := getattr(arguments, name)) is not None}
    if arguments.no_execute:
        settings["nb_execution_mode"] = "off"
    if arguments.only:
        settings["book_run_only"] = ",".join(arguments.only)
    return build(arguments.output.resolve(), settings, jobs=arguments.jobs, languages=arguments.languages)
