"""In-memory approximation of OpenSearch's ``standard`` analyzer (UAX #29 word breaks + lowercase).

The matcher must split ``message`` exactly where OpenSearch does, otherwise a phrase or a
prefix would select different events in live tail and in search. The standard tokenizer
implements Unicode word segmentation (UAX #29); this module implements the rules that matter
for log text with one linear regex (no backtracking blow-up on long lines):

* letters stay together across ``.``, ``:`` and ``'`` when a letter follows (``example.com``,
  ``foo:bar``, ``don't`` are one token each, WB6/WB7);
* digits stay together across ``.``, ``,``, ``;`` and ``'`` when a digit follows
  (``192.168.1.1``, ``1,000`` are one token, WB11/WB12);
* letters and digits touching each other, or joined by ``_``, form one token (``abc123``,
  ``user_id``, ``__init__``; WB9/WB10/WB13);
* everything else (space, ``-``, ``/``, ``@``, ``=``, brackets ...) separates tokens and is dropped.

Known residual differences (documented in docs/QUERY.md): CJK ideographs (Lucene emits one token
per ideograph; here a run is one token), emoji (Lucene emits them as tokens; here they are
dropped), Hebrew/Katakana special rules, tokens longer than 255 characters (Lucene splits
them) and a few Unicode lowercase mappings.
"""

from __future__ import annotations

import re

_LETTERS = r"[^\W\d_]+(?:[.:'\u2019\u00b7][^\W\d_]+)*"
_DIGITS = r"\d+(?:[.,;'\u2019]\d+)*"
_TOKEN = re.compile(rf"_*(?:{_LETTERS}|{_DIGITS})(?:_*(?:{_LETTERS}|{_DIGITS}))*_*")


def tokenize(text: str) -> list[str]:
    """Lowercased tokens of ``text`` as the standard analyzer would index them."""
    return [m.group(0).lower() for m in _TOKEN.finditer(text)]


def is_single_token(text: str) -> bool:
    """True if ``text`` analyses to exactly one token equal to its lowercase form.

    Prefix and suffix queries are not analysed by OpenSearch, so only such values can be
    compared token-wise with the same result in both back ends.
    """
    toks = tokenize(text)
    return len(toks) == 1 and toks[0] == text.lower()
