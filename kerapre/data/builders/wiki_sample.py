"""The Wikipedia articles that ship inside the ``gensim`` package, as a TFDS text set."""

import bz2
import re

import numpy as np
import tensorflow_datasets as tfds

from kerapre.data.builders.package_files import locate_package_file
from kerapre.data.sentence_splitting import split_sentences
from kerapre.errors import DataError

DUMP_PATH = (
    "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
)
GENSIM_PIN = "gensim==4.4.0"
TEST_FRACTION = 0.1
# Articles are drawn into `test` at random; a constant seed keeps every machine's
# `train` and `test` identical.
SPLIT_SEED = 20240917

# Sections after which an article holds only references and links, not prose.
_END_SECTIONS = frozenset(
    {
        "references",
        "notes",
        "footnotes",
        "citations",
        "sources",
        "bibliography",
        "see also",
        "external links",
        "further reading",
        "notes and references",
        "references and notes",
        "works cited",
        "selected bibliography",
        "selected works",
        "works",
    }
)
_HEADING = re.compile(r"^\s*(=+)\s*(.*?)\s*\1\s*$")
_LIST_MARKER = re.compile(r"^[*#:;]+\s*")
_TABLE_OR_CAPTION = re.compile(r"^\s*(?:[|!]|\{\|)|thumb\||\d+px\|")
_GALLERY = re.compile(r"<gallery.*?</gallery>", re.DOTALL | re.IGNORECASE)
_EMPHASIS = re.compile(r"'{2,}")
_EMPTY_PARENS_START = re.compile(r"\(\s*(?:[,;:]\s*)+")
_EMPTY_PARENS_END = re.compile(r"\s*(?:[,;:]\s*)+\)")
_EMPTY_PARENS = re.compile(r"\s*\(\s*\)")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")
_WHITESPACE = re.compile(r"\s+")
# A line of prose ends with a sentence-final mark, maybe inside quotes or brackets.
_PROSE_END = re.compile(r"[.!?][\"'”’)\]]*$")
_COLON_END = re.compile(r":$")
_LETTER = re.compile(r"[^\W\d_]")
# Literal "<" and ">" of the wiki text survive XML parsing as "&lt;" and "&gt;";
# gensim decodes them and then deletes everything between a "<" and the next ">"
# as an HTML tag. Hiding them in private-use characters keeps that text.
_LT, _GT = "\ue000", "\ue001"

_CITATION = """\
@misc{wikipedia,
  author = {{Wikipedia contributors}},
  title  = {Wikipedia, The Free Encyclopedia},
  note   = {English dump sample shipped in gensim/test/test_data},
}
"""


def locate_dump():
    """Returns the path of the Wikipedia dump sample inside the installed ``gensim`` package.

    The package is found through its metadata, not imported, so a missing gensim fails
    here with a clear message.

    Raises:
        DataError: if gensim is not installed or no longer carries the file.

    Examples:

    ```python
    path = locate_dump()  # .../site-packages/gensim/test/test_data/enwiki-...-shortened.bz2
    ```
    """
    return locate_package_file(
        "gensim", DUMP_PATH, missing="wiki_sample needs gensim", install=f"pip install {GENSIM_PIN}"
    )

def read_articles(path):
    """Yields ``(page_id, title, paragraphs)`` for each article of a MediaWiki XML dump.

    Redirects and pages left with no sentence after cleaning are skipped. Each
    paragraph is a list of sentences (see ``clean_article``).

    Args:
        path: a ``.xml.bz2`` MediaWiki dump.

    Examples:

    ```python
    page_id, title, paragraphs = next(read_articles(locate_dump()))  # "12", "Anarchism", ...
    ```
    """
    with bz2.open(path, "rb") as f:
        for title, markup, page_id in _wikicorpus().extract_pages(f):
            if markup.lstrip()[:9].upper() == "#REDIRECT":
                continue
            paragraphs = clean_article(markup)
            if paragraphs:
                yield page_id, title, paragraphs


def clean_article(markup):
    """Turns an article's wiki markup into paragraphs of sentences of plain prose.

    gensim's ``filter_wiki`` removes templates, references, links and tags; this also
    removes tables, image captions and galleries before it, and after it keeps only
    lines of prose: headings, list items and captions that do not end like a sentence
    are dropped, list markers and bold/italic quotes are stripped, and the article ends
    at its "References", "See also", "External links" (...) section.

    Args:
        markup: the wiki text of one page.

    Returns:
        A list of paragraphs, each a non-empty list of sentences.

    Examples:

    ```python
    clean_article("'''Ada''' is a language.  It was named after Ada Lovelace.\\n==Notes==\\n* x")
    # [["Ada is a language.", "It was named after Ada Lovelace."]]
    ```
    """
    markup = markup.replace("&lt;", _LT).replace("&gt;", _GT)
    markup = _GALLERY.sub("", _remove_nested(_remove_nested(markup, "{|", "|}"), "[[", "]]"))
    text = _wikicorpus().filter_wiki(markup).replace(_LT, "<").replace(_GT, ">")
    paragraphs = []
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            if heading.group(2).strip().lower() in _END_SECTIONS:
                break
            continue
        if _TABLE_OR_CAPTION.search(line):
            continue
        line = _clean_line(_LIST_MARKER.sub("", line))
        if not _is_prose(line):
            continue
        sentences = [s for s in split_sentences(line) if _LETTER.search(s)]
        if sentences:
            paragraphs.append(sentences)
    return paragraphs


def _wikicorpus():
    # Imported on use: kerapre works without gensim until wiki_sample is prepared.
    try:
        from gensim.corpora import wikicorpus
    except ImportError:
        raise DataError(f"wiki_sample needs gensim: pip install {GENSIM_PIN}") from None
    return wikicorpus


def _remove_nested(text, opening, closing):
    """Removes ``opening ... closing`` blocks, nested ones included.

    Only ``[[File:...]]`` and ``[[Image:...]]`` blocks are removed when ``opening`` is
    ``[[`` (ordinary links stay for ``filter_wiki``); tables go whole.
    """
    token = re.compile(re.escape(opening) + "|" + re.escape(closing))
    pieces, depth, keep_from, start = [], 0, 0, None
    for match in token.finditer(text):
        if match.group() == opening:
            if depth == 0:
                if opening == "[[" and not _is_file_link(text, match.end()):
                    continue
                start = match.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                pieces.append(text[keep_from:start])
                keep_from = match.end()
    if depth:  # An unclosed block runs to the end of the page.
        pieces.append(text[keep_from:start])
        return "".join(pieces)
    pieces.append(text[keep_from:])
    return "".join(pieces)


def _is_file_link(text, position):
    prefix = text[position : position + 6].lower()
    return prefix.startswith("file:") or prefix.startswith("image:")


def _clean_line(line):
    line = _EMPHASIS.sub("", line)
    line = _EMPTY_PARENS_START.sub("(", line)
    line = _EMPTY_PARENS_END.sub(")", line)
    line = _EMPTY_PARENS.sub("", line)
    line = _WHITESPACE.sub(" ", line).strip()
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", line)


def _is_prose(line):
    words = len(line.split())
    if line[:1].islower() and words < 4:
        return False  # The tail of a sentence whose head was markup ("purposes.").
    if _PROSE_END.search(line):
        return words >= 2
    # A sentence that introduces a list ("... four classes of compounds:").
    return bool(_COLON_END.search(line)) and words >= 5


def split_by_article(page_ids, test_fraction=TEST_FRACTION, seed=SPLIT_SEED):
    """Splits page ids into ``(train, test)`` sets at random, ``test_fraction`` of them in test.

    Args:
        page_ids: the ids of all articles.
        test_fraction: the share of articles held out for ``test`` (rounded).
        seed: seed of the numpy generator that draws them.

    Examples:

    ```python
    train, test = split_by_article([str(i) for i in range(100)])  # 90 and 10 ids
    ```
    """
    ordered = sorted(page_ids, key=int)
    order = np.random.default_rng(seed).permutation(len(ordered))
    num_test = round(len(ordered) * test_fraction)
    test = {ordered[i] for i in order[:num_test]}
    return set(ordered) - test, test


class WikiSample(tfds.core.GeneratorBasedBuilder):
    """Wiki sample: 104 real English Wikipedia articles from the gensim package, offline.

    The dump sample holds 206 pages: 100 redirects, 2 pages that are only lists (no
    prose left after cleaning) and 104 articles, 18,956 sentences, 2.6 MB of text.
    Each example is one article: ``title`` and ``text``, the article's prose with one
    sentence per line and a blank line between paragraphs (the standard BERT
    pretraining layout). Split by article with a fixed seed: ``train`` 94 articles
    (16,822 sentences), ``test`` 10 held out (2,134 sentences). Registered in TFDS as
    ``wiki_sample`` once ``kerapre.data`` is imported.

    Examples:

    ```python
    builder = WikiSample(data_dir="/tmp/tfds")
    builder.download_and_prepare()
    ds = builder.as_dataset(split="test", shuffle_files=False)
    ```
    """

    name = "wiki_sample"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: 94 train / 10 test articles."}

    @classmethod
    def locate_sources(cls):
        """Checks that the local source file exists, raising DataError if it does not."""
        return locate_dump()

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Real English Wikipedia articles from the dump sample shipped with gensim "
                "4.4.0, cleaned of markup, one sentence per line and a blank line between "
                "paragraphs; split by article into 90% train and 10% test."
            ),
            features=tfds.features.FeaturesDict(
                {"title": tfds.features.Text(), "text": tfds.features.Text()}
            ),
            supervised_keys=None,
            homepage="https://dumps.wikimedia.org/",
            citation=_CITATION,
            license="CC BY-SA 3.0 (Wikipedia text)",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: the dump is already on disk.
        articles = list(read_articles(self.locate_sources()))
        train, test = split_by_article([page_id for page_id, _, _ in articles])
        return {
            "train": self._generate_examples(articles, train),
            "test": self._generate_examples(articles, test),
        }

    def _generate_examples(self, articles, page_ids):
        # The page id is a stable key, so TFDS's shuffle-by-key gives the same order everywhere.
        for page_id, title, paragraphs in articles:
            if page_id in page_ids:
                text = "\n\n".join("\n".join(sentences) for sentences in paragraphs)
                yield int(page_id), {"title": title, "text": text}
