"""Splitting English prose into sentences, for corpora whose documents are paragraphs.

``split_sentences`` cuts at ``.``, ``!`` and ``?`` followed by a capital, and knows the
titles, abbreviations, initials and acronyms after which a period does not end one.
"""

import re

# Words after which a period never ends a sentence: titles before a name and
# abbreviations followed by more of the same sentence ("e.g. the", "No. 5", "Dr. Smith").
_NEVER_FINAL = frozenset(
    """
    mr mrs ms dr prof rev hon st mt sgt capt col gen brig maj lt cmdr adm gov pres sen
    rep messrs
    e.g i.e cf vs viz no nos vol vols fig figs
    """.split()
)
# Abbreviations that may also end a sentence ("... in the U.S. The war ..."): after them
# a sentence ends only if the next word usually starts one.
_MAYBE_FINAL = frozenset(
    """
    etc al inc ltd co corp bros jr sr esq approx ca c fl p pp
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
_SENTENCE_STARTERS = frozenset(
    """
    a an the this that these those there then thus it its he she they we i you his her
    their our my in on at by for from with after before during when while although
    though as but and or however since because if once today later many most some
    """.split()
)
_CLOSERS = "\"'”’»)]"
_OPENERS = "\"'“‘«(["
_BOUNDARY = re.compile(r"[.!?]+[\"'”’»)\]]*\s+")
_WORD = re.compile(r"[^\W_]+")
_WHITESPACE = re.compile(r"\s+")
# Initials ("J.") and dotted acronyms ("U.S.", "e.g.") before the final period.
_INITIAL = re.compile(r"^[A-Z]$")
_DOTTED = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]$")


def split_sentences(text):
    """Splits a paragraph of English prose into sentences.

    A sentence ends at ``.``, ``!`` or ``?`` (with any closing quotes or brackets) that
    is followed by whitespace and, after any opening quote or bracket, an upper-case
    letter or a digit.
    A period does not end a sentence after a title or a common abbreviation (``Dr.``,
    ``e.g.``, ``No.``, ``vs.``), after an initial (``J. R. R. Tolkien``) or inside a
    number (``3.14``). After an acronym or an abbreviation that can also end a sentence
    (``U.S.``, ``etc.``, ``Inc.``) the sentence ends only when the next word usually
    starts one (``The``, ``He``, ``In``, ...). Runs of whitespace, newlines included,
    become one space.

    Args:
        text: a paragraph, or any text whose line breaks do not matter.

    Returns:
        A list of sentences, each stripped; empty for blank text.

    Examples:

    ```python
    split_sentences("Dr. Smith moved to the U.S. in 1990. He earned $3.5 million.")
    # ["Dr. Smith moved to the U.S. in 1990.", "He earned $3.5 million."]
    ```
    """
    text = _WHITESPACE.sub(" ", text).strip()
    sentences = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _ends_sentence(text, match):
            sentences.append(text[start : match.end()].strip())
            start = match.end()
    if start < len(text):
        sentences.append(text[start:].strip())
    return sentences


def _ends_sentence(text, match):
    following = text[match.end() :].lstrip(_OPENERS)
    if not following or not (following[0].isupper() or following[0].isdigit()):
        return False
    if match.group().rstrip().rstrip(_CLOSERS) != ".":
        return True  # "!", "?" and an ellipsis end a sentence when a capital follows.
    word = text[: match.start()].rsplit(" ", 1)[-1].lstrip(_OPENERS)
    if _INITIAL.match(word):
        return _starts_sentence(following)
    lower = word.lower()
    if lower in _NEVER_FINAL:
        return False
    if lower in _MAYBE_FINAL or _DOTTED.match(word):
        return _starts_sentence(following)
    return True


def _starts_sentence(text):
    word = _WORD.match(text)
    return bool(word) and word.group().lower() in _SENTENCE_STARTERS
