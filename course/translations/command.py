"""``python -m course.translations update|check LANGUAGE``: keep the catalogues in step with the English, and say
what each page still lacks."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from sphinx_intl.basic import update as merge_templates

from course.translations.catalogues import LOCALES, PageStatus, extract_templates, released_pages, statuses
from course.translations.messages import DOMAINS, domain_status, update_domain


def update(language: str, pages: list[str] = ()) -> int:
    """Merge the current English passages into ``language``'s catalogues (new passages empty, changed ones keep
    their old translation marked fuzzy, removed ones dropped): every page's and the kit's own words (``course``,
    ``grader``), or those of the given ``pages`` and the pages under them (``docs``,
    ``course/lectures/01_backprop``, ``grader``)."""
    for domain in DOMAINS:
        if not pages or domain.name in pages:
            print(f"{domain.name}: {update_domain(domain, language)}")
    if pages and all(page in {domain.name for domain in DOMAINS} for page in pages):
        return 0
    with tempfile.TemporaryDirectory() as folder:
        templates = extract_templates(Path(folder) / "all")
        chosen = Path(folder) / "chosen"
        for template in templates.rglob("*.pot"):
            page = template.relative_to(templates).with_suffix("").as_posix()
            if not pages or any(page == wanted or page.startswith(f"{wanted}/") for wanted in pages):
                (chosen / template.relative_to(templates)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(template, chosen / template.relative_to(templates))
        if not chosen.is_dir():
            print(f"no page is called {' or '.join(pages)}", file=sys.stderr)
            return 2
        merge_templates(str(LOCALES), str(chosen), (language,), line_width=120, ignore_obsolete=True, jobs=1)
    return 0


def report(status: PageStatus, show_passages: bool) -> str:
    done = status.passages - len(status.missing) - len(status.stale)
    line = (f"{status.page}: {done}/{status.passages} translated, {len(status.stale)} stale, "
            f"{len(status.missing)} missing, {len(status.damaged)} damaged")
    if show_passages:
        line += "".join(f"\n    stale: {passage[:100]}" for passage in status.stale)
        line += "".join(f"\n    missing: {passage[:100]}" for passage in status.missing)
        line += "".join(f"\n    damaged ({'; '.join(problems)}): {passage[:100]}"
                        for passage, problems in status.damaged.items())
    return line


def check(language: str, every_page: bool, pages: list[str] = ()) -> int:
    """List what the released pages' catalogues lack (every page's with ``every_page``); 1 if a released page
    lacks anything."""
    released = set(released_pages(language))
    with tempfile.TemporaryDirectory() as folder:
        found = statuses(language, extract_templates(Path(folder)))
    found += [domain_status(domain, language) for domain in DOMAINS]
    unknown = released - {status.page for status in found}
    for page in sorted(unknown):
        print(f"{page}: listed in {LOCALES / language / 'released.txt'} but no such page", file=sys.stderr)
    failing = [status for status in found if status.page in released and not status.complete]
    for status in found:
        if every_page or status.page in released or status.page in pages:
            print(report(status, show_passages=status in failing or status.page in pages))
    if failing or unknown:
        print(f"{len(failing) + len(unknown)} released page(s) of the {language} edition need their translation "
              f"brought up to date: python -m course.translations update {language}, then translate the stale and "
              f"missing passages in their .po files", file=sys.stderr)
        return 1
    print(f"the released pages of the {language} edition are complete and current ({len(released)} page(s))")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.translations", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    update_parser = commands.add_parser("update", help="merge the current English passages into the catalogues")
    update_parser.add_argument("language", help="e.g. zh_CN")
    update_parser.add_argument("pages", nargs="*", help="only these pages, or the pages under these folders "
                                                        "(e.g. docs, course/lectures/01_backprop); course and "
                                                        "grader: the kit's own words")
    check_parser = commands.add_parser("check", help="stale and missing translations; fails on a released page's")
    check_parser.add_argument("language", help="e.g. zh_CN")
    check_parser.add_argument("--all", action="store_true", help="report every page, not only the released ones")
    check_parser.add_argument("--page", action="append", default=[],
                              help="report this page in full (e.g. course/lectures/01_backprop), released or not")
    arguments = parser.parse_args(argv)
    if arguments.command == "update":
        return update(arguments.language, arguments.pages)
    return check(arguments.language, arguments.all, arguments.page)
