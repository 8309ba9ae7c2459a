"""Japanese text normalisation shared by every matcher in the core.

Residents type on phones in every width and script: full-width digits, half-width
katakana, hiragana-only sentences, long vowels written three ways. Everything that
compares text goes through `normalize` first so that those differences never decide
a match.
"""

from __future__ import annotations

import re
import unicodedata

_KATAKANA_START = ord("ァ")
_KATAKANA_END = ord("ヶ")
_KANA_OFFSET = ord("ァ") - ord("ぁ")
_SPACES = re.compile(r"\s+")
# Long-vowel marks and dashes that people use interchangeably after kana.
_LONG_VOWELS = str.maketrans({"〜": "ー", "~": "ー", "～": "ー", "－": "ー", "‐": "ー", "―": "ー", "—": "ー", "─": "ー"})


def normalize(text: str) -> str:
    """NFKC (width, compatibility forms), lower-case Latin, one space between words."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.translate(_LONG_VOWELS).lower()
    return _SPACES.sub(" ", text).strip()


def fold_kana(text: str) -> str:
    """Katakana to hiragana, so 「ゼーゼー」 and 「ぜーぜー」 compare equal."""
    return "".join(
        chr(ord(ch) - _KANA_OFFSET) if _KATAKANA_START <= ord(ch) <= _KATAKANA_END else ch for ch in text
    )


def canonical(text: str) -> str:
    """The form detectors match against: normalised, kana folded."""
    return fold_kana(normalize(text))
