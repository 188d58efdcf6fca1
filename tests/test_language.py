"""course.language: the kit's words in the chosen language, a finished test message matched to the entry it was
made from, and nothing read from a path a student's notebook names."""

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from course import language
from course.language import (ENGLISH, LANGUAGE_VARIABLE, current_language, known_language, speaking, tr,
                             translate_message, translations)

FAKE = "xx"  # a language the kit has no catalogue for: only the test's catalogue speaks it


@pytest.fixture
def catalogue(tmp_path):
    """A catalogue for the fake language, in a folder of its own, passed as an extra catalogue."""
    entries = {
        "the loss": "LOSS",
        "{name} has shape {tuple(value.shape)}, expected {tuple(shape)}": "SHAPE {tuple(shape)} WANTED, {name} HAS "
                                                                         "{tuple(value.shape)}",
        "{what}: got {got}, expected {expected}": "{what}: GOT {got} NOT {expected}",
        "sigmoid(x) against torch.sigmoid(x)": "SIGMOID",
        "{count} of {total} values differ": "{count}/{total} DIFFER",
        "keep {{braces}} as they are": "KEEP {{BRACES}}",
        "a stale entry": "OLD",
    }
    written = Catalog(locale=None)
    for english, translation in entries.items():
        written.add(english, translation, flags=("fuzzy",) if english == "a stale entry" else ())
    path = tmp_path / FAKE / "LC_MESSAGES" / "test.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as file:
        write_po(file, written)
    translations.cache_clear()
    yield ((tmp_path, "test"),)
    translations.cache_clear()


def test_a_message_made_from_an_entry_gets_its_values_in_the_translation(catalogue):
    english = "w has shape (3, 4), expected (4, 3)"
    assert translate_message(english, FAKE, catalogue) == "SHAPE (4, 3) WANTED, w HAS (3, 4)"


def test_the_most_literal_entry_wins_and_a_value_that_is_a_message_is_translated_too(catalogue):
    english = "sigmoid(x) against torch.sigmoid(x): got 0.5, expected 0.7"
    assert translate_message(english, FAKE, catalogue) == "SIGMOID: GOT 0.5 NOT 0.7"
    assert translate_message("3 of 13 values differ", FAKE, catalogue) == "3/13 DIFFER"


def test_plain_entries_doubled_braces_and_unknown_or_stale_text(catalogue):
    assert translate_message("the loss", FAKE, catalogue) == "LOSS"
    assert translate_message("keep {braces} as they are", FAKE, catalogue) == "KEEP {BRACES}"
    assert translate_message("a stale entry", FAKE, catalogue) == "a stale entry", "a fuzzy entry was used"
    assert translate_message("nothing like it", FAKE, catalogue) == "nothing like it"
    assert translate_message("the loss", ENGLISH, catalogue) == "the loss"


def test_the_language_comes_from_the_environment_unless_a_block_speaks_another(monkeypatch):
    monkeypatch.delenv(LANGUAGE_VARIABLE, raising=False)
    assert current_language() == ENGLISH
    monkeypatch.setenv(LANGUAGE_VARIABLE, "zh_CN")
    assert current_language() == "zh_CN"
    with speaking(None):
        assert current_language() == ENGLISH
        with speaking(FAKE):
            assert current_language() == FAKE
        assert current_language() == ENGLISH
    assert current_language() == "zh_CN"


def test_tr_is_english_without_a_catalogue_entry(monkeypatch):
    monkeypatch.setenv(LANGUAGE_VARIABLE, FAKE)
    assert tr("a sentence no catalogue has") == "a sentence no catalogue has"


@pytest.mark.parametrize("named", ["zh_CN"])
def test_a_language_the_kit_has(named):
    assert known_language(named) == named


@pytest.mark.parametrize("named", [None, 3, "", "en", "fr", "../../etc", "zh_CN/../../x", "zh_CN\n", "ZH"])
def test_a_notebook_cannot_name_a_path_or_a_language_the_kit_lacks(named):
    assert known_language(named) == ENGLISH


def test_every_translation_in_the_kits_catalogue_is_read(monkeypatch):
    """The shipped catalogue loads, and a translated entry of it comes back from tr in Chinese."""
    table = translations("zh_CN")
    if not table.exact:
        pytest.fail(f"no translated entry in {language.catalogue_file('zh_CN')}")
    english, chinese = next(iter(table.exact.items()))
    monkeypatch.setenv(LANGUAGE_VARIABLE, "zh_CN")
    assert tr(english) == chinese
