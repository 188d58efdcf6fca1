"""Where the catalogues live, how the English passages are extracted into templates, and what each catalogue
lacks: a passage is *missing* when it has no translation, *stale* when its translation was made for an older
English text (gettext's fuzzy flag, set when the English changes), and *damaged* when its translation lost or
changed the passage's code, formulas or link targets."""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from sphinx_intl.catalog import load_po

import course
from course.translations.markup import markup_problems

CHECKOUT = Path(course.__file__).resolve().parent.parent
LOCALES = CHECKOUT / "docs" / "locales"
RELEASED = "released.txt"  # per language: the pages whose translation is complete and must stay so


def extract_templates(folder: Path, checkout: Path = CHECKOUT) -> Path:
    """The English passages of every page of the book (docs/, the lectures, the labs) of ``checkout`` as gettext
    templates, one ``.pot`` per page, under ``folder``; no notebook is run. Returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "sphinx", "-q", "-b", "gettext", "-c", str(checkout / "docs"), "-W",
               "-D", "nb_execution_mode=off", "-d", str(folder / ".doctrees"), str(checkout), str(folder)]
    # run beside the templates: from a bare copy of a checkout, its course/ folder would hide the course package
    completed = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"Sphinx could not extract the English passages:\n{completed.stderr}")
    return folder


def catalogue_path(language: str, page: str, locales: Path = LOCALES) -> Path:
    """The catalogue of ``page`` (a page name such as ``course/lectures/01_backprop``) for ``language``."""
    return locales / language / "LC_MESSAGES" / f"{page}.po"


def load_catalogue(language: str, page: str, locales: Path = LOCALES) -> Catalog:
    """``page``'s catalogue for ``language``; an empty one where the page has none yet (its passages stay English)."""
    path = catalogue_path(language, page, locales)
    return load_po(str(path)) if path.is_file() else Catalog(locale=language)


def released_pages(language: str, locales: Path = LOCALES) -> list[str]:
    """The pages whose ``language`` edition is released: their catalogues must be complete and current."""
    listing = locales / language / RELEASED
    if not listing.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in listing.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


@dataclass
class PageStatus:
    """What one page's catalogue lacks against the current English, as the English passages (msgids)."""

    page: str
    passages: int = 0
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    damaged: dict[str, list[str]] = field(default_factory=dict)  # passage: what its translation lost or added

    @property
    def complete(self) -> bool:
        return not self.missing and not self.stale and not self.damaged


def page_status(page: str, template: Catalog, catalogue: Catalog | None,
                problems_of=markup_problems) -> PageStatus:
    """``catalogue`` (None where the page has none yet) merged, in memory, with the page's current ``template`` as
    ``update`` would merge it: an English passage that changed keeps its old translation, marked stale.
    ``problems_of(english, translation)`` says what a translation damaged."""
    status = PageStatus(page, passages=sum(1 for message in template if message.id))
    if catalogue is None:
        status.missing = [message.id for message in template if message.id]
        return status
    merged = copy.deepcopy(catalogue)
    merged.update(template)
    for message in merged:
        if not message.id:
            continue
        if not message.string:
            status.missing.append(message.id)
        elif message.fuzzy:
            status.stale.append(message.id)
        elif problems := problems_of(message.id, message.string):
            status.damaged[message.id] = problems
    return status


def statuses(language: str, templates: Path, locales: Path = LOCALES) -> list[PageStatus]:
    """Every page's status for ``language``, from the templates ``extract_templates`` wrote into ``templates``."""
    result = []
    for template_path in sorted(templates.rglob("*.pot")):
        page = template_path.relative_to(templates).with_suffix("").as_posix()
        path = catalogue_path(language, page, locales)
        catalogue = load_po(str(path)) if path.is_file() else None
        result.append(page_status(page, load_po(str(template_path)), catalogue))
    return result
