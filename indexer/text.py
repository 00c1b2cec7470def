"""Title text folded into search tokens: lower case, accents removed, digits kept, split on everything else.

Pure. The same function tokenises titles when they are indexed and queries when they are searched.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Letters and digits of any script; underscores and punctuation separate tokens.
_TOKEN_RE = re.compile(r"[^\W_]+")
MAX_TOKEN_CHARS = 64


def fold(text: str) -> str:
    """Case- and accent-folded text: "Été à Zürich" → "ete a zurich"."""
    if text.isascii():
        return text.lower()  # most titles: nothing to decompose, and casefold equals lower on ASCII
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def tokens(text: str) -> list[str]:
    """The title's tokens in order (repeats kept)."""
    return [t[:MAX_TOKEN_CHARS] for t in _TOKEN_RE.findall(fold(text))]


def term_counts(text: str) -> tuple[Counter[str], int]:
    """Distinct tokens with their counts, and the title's length in tokens (for BM25)."""
    toks = tokens(text)
    return Counter(toks), len(toks)


def parse_query(query: str) -> tuple[list[str], str | None]:
    """Whole words, and the word still being typed (the last one, unless the query ends in a separator)."""
    toks = tokens(query)
    if not toks:
        return [], None
    folded = fold(query)
    if folded and _TOKEN_RE.match(folded[-1]):
        return toks[:-1], toks[-1]
    return toks, None
