"""Text normalisation and the jieba tokenizer with the wallet domain dictionary.

Users type in traditional characters, full-width letters, with typos (冲值) and English
mixed in (top up). Normalising before both the dense and the lexical leg lets the KB
match them against content written in plain Simplified Chinese.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import jieba
import opencc
import yaml

RESOURCES = Path(__file__).parent / "resources"
# Shared with the Rasa project's JiebaTokenizer (bot/config.yml points at this folder).
JIEBA_DICTIONARY_DIR = RESOURCES / "jieba"
USER_DICTIONARY = JIEBA_DICTIONARY_DIR / "userdict.txt"
SYNONYMS_FILE = RESOURCES / "synonyms.yml"
DIALECT_FILE = RESOURCES / "dialect.yml"

# jieba announces every dictionary load on stderr at INFO.
jieba.setLogLevel(logging.WARNING)

_SPACES = re.compile(r"\s+")
_TOKEN_CHARS = re.compile(r"[\w\u4e00-\u9fff]")


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def is_traditional(text: str) -> bool:
    """True when the text holds characters that differ in Simplified Chinese."""
    return to_simplified(text) != text


@cache
def _synonyms() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Typos, English words and variants, each mapped to the term the FAQ content uses."""
    table: dict[str, list[str]] = yaml.safe_load(SYNONYMS_FILE.read_text("utf-8"))
    rules = []
    for canonical, variants in table.items():
        for variant in sorted(variants, key=len, reverse=True):
            # Latin words must match whole ("app" not inside "apple"); Chinese has no spaces.
            if variant.isascii():
                pattern = re.compile(rf"(?<![a-z]){re.escape(variant)}(?![a-z])")
            else:
                pattern = re.compile(re.escape(variant))
            rules.append((pattern, canonical))
    # Longest variants first, so that "top up" wins over "top".
    rules.sort(key=lambda rule: len(rule[0].pattern), reverse=True)
    return tuple(rules)


# Characters that end a Mandarin word a variant could start inside: 清点 / 盘点 / 一点 +
# 算, 网点 + 办.
_MANDARIN_BEFORE = "清盘一差多少快慢有网"


@cache
def _dialect() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Cantonese words and their Mandarin, longest first (唔可以 before 唔)."""
    table: dict[str, list[str]] = yaml.safe_load(DIALECT_FILE.read_text("utf-8"))
    rules = [(variant, mandarin) for mandarin, variants in table.items() for variant in variants]
    rules.sort(key=lambda rule: len(rule[0]), reverse=True)
    return tuple(
        (re.compile(rf"(?<![{_MANDARIN_BEFORE}]){re.escape(variant)}"), mandarin)
        for variant, mandarin in rules
    )


def normalize(text: str) -> str:
    """Fold width and case, convert to Simplified Chinese and Cantonese words to
    Mandarin, and collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = to_simplified(text)
    for variant, mandarin in _dialect():
        text = variant.sub(mandarin, text)
    return _SPACES.sub(" ", text).strip()


def canonicalize(text: str) -> str:
    """normalize(), then rewrite typos and English terms to the FAQ's own words."""
    text = normalize(text)
    for pattern, canonical in _synonyms():
        text = pattern.sub(canonical, text)
    return text


class Tokenizer:
    """jieba with Kefu's domain dictionary, isolated from jieba's global tokenizer."""

    def __init__(self, user_dictionary: Path = USER_DICTIONARY) -> None:
        self._jieba = jieba.Tokenizer()
        self._user_dictionary = user_dictionary
        self._ready = False
        self._lock = threading.Lock()

    def initialize(self) -> None:
        """Load the dictionaries now (about a second) rather than on the first query."""
        with self._lock:
            if not self._ready:
                self._jieba.initialize()
                self._jieba.load_userdict(str(self._user_dictionary))
                self._ready = True

    def tokens(self, text: str) -> list[str]:
        """Words of an already canonicalised text, without punctuation and spaces.

        Search mode also yields the dictionary words inside a longer word (没到账 →
        到账, 没到账), so a query and a paraphrase that segment differently still meet.
        """
        if not self._ready:
            self.initialize()
        return [
            token
            for token in self._jieba.lcut_for_search(text)
            if token.strip() and _TOKEN_CHARS.search(token)
        ]

    def tokenize_all(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokens(text) for text in texts]
