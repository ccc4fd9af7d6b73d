"""TF-IDF lexical similarity between one side's offers and the other side's needs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from matchmaker.language import concept_tokens, japanese_tokens, normalize

# Chosen by measurement on the JCM dev and dev-ja sets (docs/matching.md): English word 1-2 grams keep concrete
# terms ("centrifugal chiller") that quote well as reasons; Japanese words come from SudachiPy; glossary concepts
# give an English and a Japanese wording of the same thing one shared term. "word" is plain English TF-IDF.
DEFAULT_ANALYZER = "bilingual"
ANALYZERS = ("bilingual", "word", "char_wb")
_LATIN = re.compile(r"(?<![a-z0-9])[a-z][a-z0-9\-]+(?![a-z0-9])")


class BilingualAnalyzer:
    """Terms of an English and/or Japanese text: English 1-2 grams, Japanese words, glossary concepts."""

    def __init__(self, concepts: bool = True) -> None:
        self.concepts = concepts

    def __call__(self, text: str) -> list[str]:
        text = normalize(text)
        words = [w for w in _LATIN.findall(text) if w not in ENGLISH_STOP_WORDS]
        terms = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        terms += japanese_tokens(text)
        if self.concepts:
            terms += concept_tokens(text)
        return terms


def make_vectorizer(analyzer: str = DEFAULT_ANALYZER) -> TfidfVectorizer:
    """Return an unfitted TF-IDF vectorizer for the given analyzer (bilingual, word or char_wb)."""
    if analyzer in ("bilingual", "bilingual-noconcepts"):
        return TfidfVectorizer(analyzer=BilingualAnalyzer(concepts=analyzer == "bilingual"), sublinear_tf=True,
                               min_df=1, dtype=np.float32)
    if analyzer == "char_wb":
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1,
                               lowercase=True, dtype=np.float32)
    return TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                           lowercase=True, stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]+\b",
                           dtype=np.float32)


@dataclass
class LexicalModel:
    """A TF-IDF vocabulary fitted on the corpus of all profiles' offer and need texts."""

    vectorizer: TfidfVectorizer

    @classmethod
    def fit(cls, texts: list[str], analyzer: str = DEFAULT_ANALYZER) -> "LexicalModel":
        """Fit the vocabulary and idf weights on a corpus."""
        vectorizer = make_vectorizer(analyzer)
        try:
            vectorizer.fit([t for t in texts if t.strip()])
        except ValueError:
            # No usable term at all (no texts yet, or only stop words or non-Latin script):
            # a one-word vocabulary that no profile contains leaves the lexical signal at zero.
            vectorizer.fit(["zzzplaceholder"])
        return cls(vectorizer)

    @classmethod
    def fit_transform(cls, texts: list[str], analyzer: str = DEFAULT_ANALYZER) -> tuple["LexicalModel", sp.csr_matrix]:
        """fit(texts) and transform(texts) with each text analysed once, not twice.

        The bilingual analyzer (words, plural forms, glossary concepts: pure Python) was two thirds of an index
        build, and a build analysed every offer and need text to fit the vocabulary, then again to transform it.
        """
        kept = [i for i, t in enumerate(texts) if t.strip()]
        vectorizer = make_vectorizer(analyzer)
        try:
            rows = vectorizer.fit_transform([texts[i] for i in kept])
        except ValueError:  # no usable term at all: fit() makes its placeholder vocabulary
            model = cls.fit(texts, analyzer)
            return model, model.transform(texts)
        # The rows of the texts that were fitted, in their places; blank texts get empty rows as transform gives them.
        place = sp.csr_matrix((np.ones(len(kept), np.float32), (np.array(kept, np.int64), np.arange(len(kept)))),
                              shape=(len(texts), len(kept)))
        placed = (place @ rows.tocsr().astype(np.float32)).tocsr()
        placed.sort_indices()  # as transform() gives them: each row's terms by column
        return cls(vectorizer), placed

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """Return L2-normalised sparse TF-IDF rows (empty texts give empty rows)."""
        return self.vectorizer.transform(texts).tocsr().astype(np.float32)

    def feature_names(self) -> np.ndarray:
        """Return the vocabulary terms by column (cached: sklearn rebuilds it per call)."""
        names = getattr(self, "_names", None)
        if names is None:
            names = self._names = self.vectorizer.get_feature_names_out()
        return names

    def shared_terms(self, rows_a: list[tuple[np.ndarray, np.ndarray]], rows_b: list[tuple[np.ndarray, np.ndarray]],
                     limit: int = 3) -> list[str]:
        """Return the heaviest terms paired sparse rows (indices, values) share, heaviest first."""
        weights: dict[int, float] = {}
        for (ia, va), (ib, vb) in zip(rows_a, rows_b):
            if len(ia) == 0 or len(ib) == 0:
                continue
            # Rows hold a few dozen terms: a dict beats np.intersect1d's sort by ~3x for the top-k's reasons.
            mine = dict(zip(ia.tolist(), va.tolist()))
            theirs = {j: w for j, w in zip(ib.tolist(), vb.tolist()) if j in mine}
            for j in sorted(theirs):
                weights[j] = weights.get(j, 0.0) + float(np.float32(mine[j]) * np.float32(theirs[j]))
        names = self.feature_names()
        terms: list[str] = []
        for j in sorted(weights, key=weights.get, reverse=True):
            term = str(names[j])
            # A unigram inside an already chosen bigram reads as repetition.
            if any(term in t.split() or t in term for t in terms):
                continue
            terms.append(term)
            if len(terms) == limit:
                break
        return terms


def range_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions of the ranges [start, start + length) laid end to end: the entries of several CSR rows, in order."""
    return np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(int(lengths.sum()))


def sparse_row(m: sp.csr_matrix, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (column indices, values) of one CSR row without scipy's per-call overhead."""
    lo, hi = m.indptr[i], m.indptr[i + 1]
    return m.indices[lo:hi], m.data[lo:hi]


def similarity_to_all(query: tuple[np.ndarray, np.ndarray], rows_t: sp.csr_matrix) -> np.ndarray:
    """Return the cosine of one sparse query row against every row, given the transposed matrix."""
    n = rows_t.shape[1]
    terms, values = query
    if len(terms) == 0:
        return np.zeros(n, dtype=np.float32)
    # Walk only the postings of the query's terms: cost follows their document frequency, not N.
    starts, stops = rows_t.indptr[terms], rows_t.indptr[terms + 1]
    lengths = stops - starts
    if lengths.sum() == 0:
        return np.zeros(n, dtype=np.float32)
    take = range_positions(starts, lengths)
    weights = rows_t.data[take] * np.repeat(values, lengths)
    return np.bincount(rows_t.indices[take], weights=weights, minlength=n).astype(np.float32)


def similarity_into(query: tuple[np.ndarray, np.ndarray], rows_t: sp.csr_matrix, out: np.ndarray,
                    segments: list[tuple[int, int, int]]) -> bool:
    """Write the cosine of a sparse query against rows lo:hi to out[pos:...] per (lo, hi, pos); False if all zero."""
    terms, values = query
    starts, stops = rows_t.indptr[terms], rows_t.indptr[terms + 1]
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        out.fill(0)
        return False
    take = range_positions(starts, lengths)
    weights = rows_t.data[take] * np.repeat(values, lengths)
    full = np.bincount(rows_t.indices[take], weights=weights, minlength=rows_t.shape[1])
    for lo, hi, pos in segments:
        out[pos:pos + hi - lo] = full[lo:hi]
    return True


def similarity_rows(query: tuple[np.ndarray, np.ndarray], rows_m: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Return the cosine of a sparse query against a few rows of a CSR matrix (a gather, not a postings walk)."""
    terms, values = query
    out = np.zeros(len(rows), np.float32)
    if len(terms) == 0 or len(rows) == 0:
        return out
    order = np.argsort(terms)
    terms, values = terms[order], values[order]
    starts, stops = rows_m.indptr[rows], rows_m.indptr[rows + 1]
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return out
    take = range_positions(starts, lengths)
    cols = rows_m.indices[take]
    at = np.minimum(np.searchsorted(terms, cols), len(terms) - 1)
    hit = terms[at] == cols
    owner = np.repeat(np.arange(len(rows)), lengths)[hit]
    weights = rows_m.data[take][hit] * values[at[hit]]
    out[:] = np.bincount(owner, weights=weights, minlength=len(rows))
    return out


def word_similarity(query: tuple[np.ndarray, np.ndarray], query_norm: float, rows_m: sp.csr_matrix,
                    row_norms: np.ndarray, rows: np.ndarray, concept: np.ndarray) -> np.ndarray:
    """Return the cosine over words only (concept columns left out) of a sparse query against a few rows."""
    terms, values = query
    keep = ~concept[terms] if len(terms) else np.zeros(0, bool)
    out = similarity_rows((terms[keep], values[keep]), rows_m, rows)
    denom = row_norms[rows] * np.float32(query_norm)
    return np.divide(out, denom, out=np.zeros_like(out), where=denom > 0)
