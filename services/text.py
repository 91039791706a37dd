"""Character-level rules for text that other people will see (names, titles, tags).

Texts (filename, title, description) are normalised to NFC and *refused*, never silently
stripped, when they hold a character that is invisible or changes how the text around it
is shown: controls (Unicode Cc: NUL, ESC of ANSI sequences...), format characters (Cf:
bidi overrides and isolates, zero-width space, BOM, soft hyphen...), line and paragraph
separators (U+2028, U+2029), lone surrogates and the blank Hangul filler letters. Two
exceptions keep real writing intact:
- a description may contain line breaks (CR LF and CR become LF) and tabs;
- ZWNJ/ZWJ (U+200C/U+200D) are allowed between two visible characters (Persian and Indic
  spelling, emoji sequences such as the family emoji), and tag characters
  (U+E0020-U+E007F) only right after U+1F3F4 (subdivision flags such as Scotland's).

Tags compare equal however they were typed: NFKC, then casefold, then NFKC again (casefold
can leave a decomposed sequence: "İ" becomes "i" + U+0307). A tag's letters must come
from one script; mixing scripts is refused (so "b\u0435ach" with a Cyrillic "\u0435" is
not a second "beach"), except the combinations real writing uses (Latin with Han,
Hiragana, Katakana, Hangul or Bopomofo; Han with kana, Hangul or Bopomofo). A tag
entirely in another script ("веасн") is simply another tag.
"""

from __future__ import annotations

import unicodedata

_TAG_CHARACTERS = range(0xE0020, 0xE0080)
_BLACK_FLAG = "\U0001f3f4"
_JOINERS = frozenset("\u200c\u200d")
_SEPARATORS = frozenset("\u2028\u2029")
# Letters (category Lo) that render as nothing: the Hangul fillers, a favourite for blank names.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_DESCRIPTION_WHITESPACE = frozenset("\n\t")
# Scripts whose letters may appear together in one tag (after Latin and Common are set aside).
_COMPATIBLE_SCRIPTS = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HAN", "HANGUL"}),
    frozenset({"HAN", "BOPOMOFO"}),
)
# unicodedata has no Script property: a letter's name starts with its script's name, except these.
_SCRIPT_OF_NAME_PREFIX = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "KATAKANA-HIRAGANA": "KATAKANA",
    "HALFWIDTH": None,  # NFKC has already mapped half- and full-width forms
    "FULLWIDTH": None,
    "MODIFIER": None,  # modifier letters are shared by many scripts
}


def clean_text(value: str, *, multiline: bool = False) -> tuple[str, str | None]:
    """The NFC, trimmed text, and the reason it is refused (None when it is fine)."""
    text = unicodedata.normalize("NFC", value)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    reason = _hidden_character(text, allowed=_DESCRIPTION_WHITESPACE if multiline else frozenset())
    return text.strip(), reason


def normalize_tag(raw: str) -> str:
    """Trim, Unicode-normalise and case-fold a tag (does not validate it)."""
    folded = unicodedata.normalize("NFKC", raw).strip().casefold()
    return unicodedata.normalize("NFKC", folded)


def tag_problem(tag: str, max_length: int) -> str | None:
    """Why a normalised tag is refused, or None."""
    if not 1 <= len(tag) <= max_length or not _tag_characters_ok(tag):
        return f"must be 1 to {max_length} letters, digits, '_' or '-'"
    scripts = _scripts(tag)
    if len(scripts) > 1:
        others = scripts - {"LATIN"}
        if not any(others <= allowed for allowed in _COMPATIBLE_SCRIPTS):
            names = ", ".join(sorted(script.title() for script in scripts))
            return f"mixes letters of different scripts ({names}); use one script per tag"
    return None


def shown(value: str, limit: int = 40) -> str:
    """User input for an error message: quoted, hidden characters escaped, cut to `limit`."""
    return repr(value[:limit]) + ("..." if len(value) > limit else "")


def _tag_characters_ok(tag: str) -> bool:
    """Letters and digits (with their combining marks: Devanagari, Thai, "i" + U+0307), '_', '-'.

    The first character is a letter, digit or '_', never a mark or '-'.
    """
    first, rest = tag[0], tag[1:]
    if not (first.isalnum() or first == "_") or not _INVISIBLE_LETTERS.isdisjoint(tag):
        return False
    return all(
        char.isalnum() or char in "_-" or unicodedata.category(char).startswith("M")
        for char in rest
    )


def _hidden_character(text: str, *, allowed: frozenset[str]) -> str | None:
    previous = ""
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        hidden = category in ("Cc", "Cf", "Cs") or char in _SEPARATORS or char in _INVISIBLE_LETTERS
        if hidden and char not in allowed and not _allowed_format(text, index, previous):
            return f"must not contain invisible or control characters (found U+{ord(char):04X})"
        previous = char
    return None


def _allowed_format(text: str, index: int, previous: str) -> bool:
    char = text[index]
    if char in _JOINERS:
        following = text[index + 1] if index + 1 < len(text) else ""
        return _visible(previous) and _visible(following)
    if ord(char) in _TAG_CHARACTERS:
        return previous == _BLACK_FLAG or (previous != "" and ord(previous) in _TAG_CHARACTERS)
    return False


def _visible(char: str) -> bool:
    return char != "" and unicodedata.category(char)[0] in ("L", "M", "N", "S")


def _scripts(tag: str) -> set[str]:
    scripts: set[str] = set()
    for char in tag:
        if not unicodedata.category(char).startswith("L"):
            continue  # digits, '_', '-' and combining marks belong to every script
        prefix = unicodedata.name(char, "").split(" ", 1)[0]
        script = _SCRIPT_OF_NAME_PREFIX.get(prefix, prefix)
        if script:
            scripts.add(script)
    return scripts
