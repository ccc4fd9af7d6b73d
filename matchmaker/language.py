"""Japanese and English text for matching: script detection, Japanese tokens, and the bilingual glossary.

Japanese is tokenized with SudachiPy (sudachidict-core): its longest split (mode C) keeps technical compounds such
as 太陽光発電 or 冷凍機 whole, and each compound's shortest parts (mode A) are added so partial wordings still meet.
The glossary (data/glossary.csv, built from the JCM methodology titles, the CTCN taxonomy, the technology categories
and the MOEJ documents; see its source column) maps English and Japanese wordings of one decarbonization concept to
one concept id: the lexical signal sees a shared concept token, and the English model embeds an English gloss of a
Japanese text.
"""

from __future__ import annotations

import csv
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GLOSSARY_FILE = Path(__file__).resolve().parent / "data" / "glossary.csv"
# A term token that cannot collide with a word: sklearn's analyzers never see it, ours emit it.
CONCEPT_PREFIX = "§"
_JAPANESE_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LETTER = re.compile(r"[^\W\d_]")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9\-\+]+")
_JAPANESE_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f\u30fc々〆ヵヶ]+")
# Japanese parts of speech kept as terms (content words); particles, auxiliaries and symbols are dropped.
_CONTENT_POS = ("名詞", "動詞", "形容詞", "形状詞")
_STOP_JA = frozenset({"為る", "成る", "有る", "居る", "出来る", "事", "物", "等", "向け", "用", "型", "年", "的", "化"})


def normalize(text: str) -> str:
    """Return NFKC-normalised, lower-cased text (full-width letters and digits become ASCII)."""
    return unicodedata.normalize("NFKC", text).lower()


def japanese_share(text: str) -> float:
    """Return the share of kana and kanji among a text's letters (0 when it has none)."""
    if text.isascii():
        # Most texts: no kana or kanji can be in them. Listing their letters was most of the Python time of
        # build_texts, 17 of the index build's 110 s at 100,000 organizations (3.3 -> 0.6 s per 20,000).
        return 0.0
    letters = _LETTER.findall(text)
    if not letters:
        return 0.0
    return len(_JAPANESE_CHAR.findall(text)) / len(letters)


def is_japanese(text: str) -> bool:
    """Tell whether a text is written mainly in Japanese."""
    return japanese_share(text) >= 0.3


# --- Japanese tokens ---------------------------------------------------------------------------------------------

_LOCAL = threading.local()


def _tokenizer():
    """Return this thread's SudachiPy tokenizer (tokenizers are not shared between threads)."""
    tok = getattr(_LOCAL, "tokenizer", None)
    if tok is None:
        from sudachipy import Dictionary, SplitMode  # noqa: PLC0415 - loads a 70 MB dictionary: only when needed

        tok = _LOCAL.tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
        _LOCAL.mode_a = SplitMode.A
    return tok


def japanese_tokens(text: str) -> list[str]:
    """Return the content words of a Japanese text: mode C compounds, then their mode A parts, normalised."""
    runs = _JAPANESE_RUN.findall(text)
    if not runs:
        return []
    tok = _tokenizer()
    out: list[str] = []
    for run in runs:
        for m in tok.tokenize(run):
            if m.part_of_speech()[0] not in _CONTENT_POS or m.part_of_speech()[1] == "数詞":
                continue
            word = m.normalized_form()
            if word in _STOP_JA or (len(word) == 1 and not _is_kanji(word)):
                continue
            out.append(word)
            parts = m.split(_LOCAL.mode_a)
            if len(parts) > 1:
                out.extend(p.normalized_form() for p in parts
                           if len(p.surface()) > 1 and p.normalized_form() not in _STOP_JA)
    return out


def _is_kanji(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


# --- Glossary ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Concept:
    """One glossary entry: an id and its English and Japanese wordings (the first of each is shown)."""

    id: str
    en: tuple[str, ...]
    ja: tuple[str, ...]

    def label(self, language: str = "en") -> str:
        """Return the wording shown to a reader of `language`."""
        return self.ja[0] if language == "ja" and self.ja else self.en[0]


_ASCII_WORD = re.compile(r"[a-z0-9]+")
# Words whose "may a wording start here" answer a Glossary keeps (a few MB at most).
MAX_KEPT_WORDS = 200_000
_JOINER = re.compile(r"[\s\-]+")


def _ascii_key(words: list[str]) -> str:
    return " ".join(words)


def _singular(word: str) -> list[str]:
    out = []
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("s") and len(word) > 2:
        out.append(word[:-1])
    return out


class Glossary:
    """Finds glossary concepts in English or Japanese text, longest wording first, without overlaps.

    Dictionary lookups, not one big regular expression: English wordings are matched as runs of whole words
    (hyphens and spaces alike, a final plural s or es allowed), Japanese ones as substrings starting at any
    character. Costs a few microseconds per short text, which matters when an index of a million profiles is built.
    """

    def __init__(self, concepts: list[Concept]) -> None:
        self.concepts = {c.id: c for c in concepts}
        self._ascii: dict[str, str] = {}
        self._other: dict[str, str] = {}
        for c in concepts:
            for form in (*c.en, *c.ja):
                form = normalize(form)
                if form.isascii():
                    key = _ascii_key(_ASCII_WORD.findall(form))
                    if key:
                        self._ascii.setdefault(key, c.id)
                else:
                    self._other.setdefault(form, c.id)
        self._max_words = max((k.count(" ") + 1 for k in self._ascii), default=0)
        # A wording's first word (singular forms too): most words start none and are skipped at once.
        self._first_words = frozenset(w for k in self._ascii for w in (k.split(" ")[0],))
        self._max_chars = max((len(k) for k in self._other), default=0)
        self._first_chars = frozenset(k[0] for k in self._other)
        self._starts: dict[str, bool] = {}

    def _may_start(self, word: str) -> bool:
        """Whether a wording starts with this word or its singular; kept per word (texts repeat their words)."""
        known = self._starts.get(word)
        if known is None:
            known = word in self._first_words or any(w in self._first_words for w in _singular(word))
            if len(self._starts) < MAX_KEPT_WORDS:  # any text may bring new words: the memory stays bounded
                self._starts[word] = known
        return known

    def find(self, text: str) -> list[str]:
        """Return the concept ids named in a text, in order of appearance (repeats kept)."""
        if not text:
            return []
        t = normalize(text)
        found: list[tuple[int, str]] = []
        covered = bytearray(len(t))
        if not t.isascii():
            i = 0
            while i < len(t):
                if t[i] in self._first_chars:
                    for size in range(min(self._max_chars, len(t) - i), 0, -1):
                        cid = self._other.get(t[i:i + size])
                        if cid is not None:
                            found.append((i, cid))
                            covered[i:i + size] = b"\x01" * size
                            i += size
                            break
                    else:
                        i += 1
                    continue
                i += 1
        words = [m for m in _ASCII_WORD.finditer(t) if not covered[m.start()]]
        names = [m.group() for m in words]
        i = 0
        while i < len(words):
            if not self._may_start(names[i]):
                i += 1
                continue
            # A wording runs on while only spaces or hyphens stand between its words (looked at only here: most
            # words start none, and testing every gap was a fifth of an index build).
            longest = 1
            while (longest < self._max_words and i + longest < len(words)
                   and _JOINER.fullmatch(t[words[i + longest - 1].end():words[i + longest].start()]) is not None):
                longest += 1
            for size in range(longest, 0, -1):
                run = names[i:i + size]
                cid = self._ascii.get(" ".join(run))
                if cid is None:
                    cid = next((self._ascii[k] for k in (" ".join(run[:-1] + [w]) for w in _singular(run[-1]))
                                if k in self._ascii), None)
                if cid is not None:
                    found.append((words[i].start(), cid))
                    i += size
                    break
            else:
                i += 1
        found.sort(key=lambda f: f[0])
        return [cid for _, cid in found]

    def gloss(self, text: str, language: str = "en") -> str:
        """Return the concepts of a text worded in `language`, in order, each once, joined by commas."""
        seen = dict.fromkeys(self.find(text))
        return ", ".join(self.concepts[c].label(language) for c in seen)

    def label(self, concept_id: str, language: str = "en") -> str:
        """Return a concept's wording for a reader of `language`."""
        return self.concepts[concept_id].label(language)


def load_glossary(path: Path = GLOSSARY_FILE) -> Glossary:
    """Read a glossary CSV (concept, en, ja, source; alternatives separated by |)."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return Glossary([Concept(r["concept"], tuple(w for w in r["en"].split("|") if w),
                             tuple(w for w in r["ja"].split("|") if w)) for r in rows])


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    """Return the packaged glossary (read once per process)."""
    return load_glossary()


# Concepts that say where or how broadly, not what technology: sharing one does not make an offer meet a need.
GENERIC_CONCEPTS = frozenset({
    "factory", "energy", "electricity", "high_efficiency", "energy_saving", "power_generation", "building", "city",
    "rural", "island", "off_grid", "retail", "school", "hotel", "food", "industrial_park", "monitoring",
})


@lru_cache(maxsize=65536)
def technology_concepts(text: str) -> frozenset[str]:
    """Return the packaged glossary's technology concepts (generic ones left out) of a text; cached, since the
    same offer and need items are explained again and again."""
    return frozenset(default_glossary().find(text)) - GENERIC_CONCEPTS


def technology_overlap(a: str, b: str) -> float:
    """Return the share of the shorter text's technology concepts (generic ones left out) the other text shares."""
    ca, cb = technology_concepts(a), technology_concepts(b)
    if not ca or not cb:
        return 0.0
    return len(ca & cb) / min(len(ca), len(cb))


# --- What the engine reads ---------------------------------------------------------------------------------------

def embedding_text(text: str, glossary: Glossary | None = None) -> str:
    """Return the text the English embedding model reads: a Japanese text becomes its English glossary gloss.

    The model has next to no Japanese vocabulary, so a Japanese offer would embed as noise; its glossary concepts in
    English (plus any Latin words it contains, such as "LED" or "1MW") carry its meaning across. Texts without any
    known concept, and all English texts, are embedded as written.
    """
    if not text or not is_japanese(text):
        return text
    glossary = glossary or default_glossary()
    gloss = glossary.gloss(text, "en")
    if not gloss:
        return text
    latin = [w for w in _LATIN_WORD.findall(normalize(text)) if w not in gloss]
    return gloss + (" (" + " ".join(dict.fromkeys(latin)) + ")" if latin else "")


def concept_tokens(text: str, glossary: Glossary | None = None) -> list[str]:
    """Return one §concept token per glossary concept occurrence in a text."""
    glossary = glossary or default_glossary()
    return [CONCEPT_PREFIX + c for c in glossary.find(text)]


def concept_label(token: str, language: str = "en", glossary: Glossary | None = None) -> str:
    """Return the reader's wording of a §concept token (other tokens are returned as they are)."""
    if not token.startswith(CONCEPT_PREFIX):
        return token
    glossary = glossary or default_glossary()
    cid = token[len(CONCEPT_PREFIX):]
    return glossary.label(cid, language) if cid in glossary.concepts else cid
