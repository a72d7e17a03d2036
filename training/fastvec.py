"""A drop-in `TfidfVectorizer` whose analyzers run at C speed where it matters: exact, not approximate.

scikit-learn's ``char_wb`` analyzer builds every character n-gram of every document as a Python
string (~500 per news sentence), and that loop dominates the cost of scoring. Its n-grams never
cross a word boundary, though: sklearn lower-cases the document, splits it on whitespace
(``str.split()``; collapsing whitespace runs first changes nothing) and pads each word as
``" word "``. So a document's char_wb counts are the sum over its words of that word's n-gram
counts, and a word's feature ids can be computed once and cached. The counts of a batch are then one
sparse product, ``X = W @ M``: ``W`` counts each distinct word of the batch per document, ``M``
holds each distinct word's feature ids (duplicates included, summed by the product).

The ``word`` analyzer (token regex, then 1..n-grams joined by a space) gets a lean loop of its own.
Everything else (fitting's vocabulary sorting, ``min_df``/``max_df``, IDF) is sklearn's own code,
so the fitted ``vocabulary_`` and ``idf_`` are identical, and ``transform`` gives the same matrix up
to float rounding (column order inside a row may differ, which changes summation order only).
Options this class does not accelerate (a custom analyzer, preprocessor or tokenizer, stop words,
accent stripping, ``input`` other than ``"content"``) fall back to sklearn's code unchanged.

The word cache is per fitted vocabulary, bounded (cleared when it exceeds ``cache_size`` words) and
never pickled; concurrent use from several threads is safe (dict reads and writes are atomic).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain, compress, repeat
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn import get_config
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils._sparse import _align_api_if_sparse
from sklearn.utils.extmath import softmax
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l1, inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

from training.lexicon import _TOKEN as _LEX_TOKEN
from training.lexicon import PolarityFeatures, finish, polarity_lexicon, token_info

__all__ = ["FastPipeline", "FastPolarityFeatures", "FastTfidfVectorizer", "accelerate", "char_wb_ngrams"]

_EMPTY = np.zeros(0, dtype=np.int32)


def char_wb_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The char_wb n-grams of one (already pre-processed) word, exactly as sklearn makes them."""
    w = " " + word + " "
    w_len = len(w)
    ngrams = []
    for n in range(min_n, max_n + 1):
        offset = 0
        ngrams.append(w[offset : offset + n])
        while offset + n < w_len:
            offset += 1
            ngrams.append(w[offset : offset + n])
        if offset == 0:  # a short word (w_len < n) is counted only once
            break
    return ngrams


class FastTfidfVectorizer(TfidfVectorizer):
    """`TfidfVectorizer` with cached char_wb words and a lean word analyzer (same parameters)."""

    cache_size: int = 200_000
    """Most distinct words kept in the char_wb cache; it is cleared when it grows past this."""

    # ---- counting -----------------------------------------------------------------------------

    def _fast_kind(self, raw_documents: object) -> str | None:
        if (
            self.input != "content"
            or self.preprocessor is not None
            or self.tokenizer is not None
            or self.stop_words is not None
            or self.strip_accents is not None
            or isinstance(raw_documents, str)
        ):
            return None
        if self.analyzer == "char_wb":
            return "char_wb"
        if self.analyzer == "word" and self.token_pattern is not None:
            return "word"
        return None

    def _count_vocab(self, raw_documents: Iterable[Any], fixed_vocab: bool) -> tuple[dict[str, int], Any]:
        kind = self._fast_kind(raw_documents)
        if kind is None:
            return super()._count_vocab(raw_documents, fixed_vocab)
        docs = raw_documents if isinstance(raw_documents, list) else list(raw_documents)
        if not all(type(d) is str for d in docs):  # bytes, NaN ...: sklearn's own decoding and errors
            return super()._count_vocab(docs, fixed_vocab)
        if self.lowercase:
            docs = [d.lower() for d in docs]
        if fixed_vocab:
            vocabulary: Mapping[str, int] = self.vocabulary_
        else:
            growing: defaultdict[str, int] = defaultdict()
            growing.default_factory = growing.__len__
            vocabulary = growing
        if kind == "char_wb":
            X = self._count_char_wb(docs, vocabulary, fixed_vocab)
        else:
            X = self._count_word(docs, vocabulary, fixed_vocab)
        if not fixed_vocab:
            vocabulary = dict(vocabulary)
            if not vocabulary:
                raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        return vocabulary, _align_api_if_sparse(X)  # type: ignore[return-value]

    def _word_cache(self, vocabulary: Mapping[str, int]) -> dict[str, np.ndarray]:
        cache = self.__dict__.get("_fast_cache")
        if cache is None or cache[0] is not vocabulary:
            cache = (vocabulary, {})
            self.__dict__["_fast_cache"] = cache
        words: dict[str, np.ndarray] = cache[1]
        if len(words) > self.cache_size:
            words.clear()
        return words

    def _count_char_wb(self, docs: list[str], vocabulary: Mapping[str, int], fixed_vocab: bool) -> sp.csr_array:
        min_n, max_n = self.ngram_range
        # W: documents x distinct words of this batch; C-level loops only (split, dict, map)
        split = list(map(str.split, docs))
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, split), dtype=np.int64, count=len(docs)), out=indptr[1:])
        flat = list(chain.from_iterable(split))
        batch = dict(zip(dict.fromkeys(flat), range(len(flat)), strict=False))
        word_ids = np.fromiter(map(batch.__getitem__, flat), dtype=np.int64, count=len(flat))
        # M: distinct words x features (duplicate n-grams are summed by the product)
        if fixed_vocab:
            cache = self._word_cache(vocabulary)
            rows: list[np.ndarray | None] = list(map(cache.get, batch))
            get = vocabulary.get
            for k, (w, ids) in enumerate(zip(batch, rows, strict=True)):
                if ids is None:
                    found = [get(g) for g in char_wb_ngrams(w, min_n, max_n)]
                    rows[k] = cache[w] = np.array([i for i in found if i is not None], dtype=np.int32)
        else:
            rows = [np.array([vocabulary[g] for g in char_wb_ngrams(w, min_n, max_n)], dtype=np.int64) for w in batch]
        filled = cast("list[np.ndarray]", rows)  # every row is set by now
        return _product(word_ids, indptr, len(batch), filled, len(vocabulary), self.dtype)

    def _count_word(self, docs: list[str], vocabulary: Mapping[str, int], fixed_vocab: bool) -> sp.csr_array:
        """All documents' tokens in one flat list; an n-gram that would span two documents is masked out."""
        min_n, max_n = self.ngram_range
        tokens = list(map(self._get_token_pattern(), docs))
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(docs))
        flat = list(chain.from_iterable(tokens))
        doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        starts = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        room = (starts[1:][doc_of] - np.arange(len(flat))) if flat else doc_of  # tokens from here to doc end
        rows, cols = [], []
        for n in range(min_n, max_n + 1):
            if n > len(flat):
                break
            grams = flat if n == 1 else list(map(" ".join, zip(*(flat[k:] for k in range(n)), strict=False)))
            valid = room[: len(grams)] >= n
            if fixed_vocab:
                ids = np.fromiter(map(vocabulary.get, grams, repeat(-1, len(grams))), dtype=np.int64, count=len(grams))
                valid &= ids >= 0
                ids = ids[valid]
            else:
                kept = list(compress(grams, valid.tolist()))
                ids = np.fromiter(map(vocabulary.__getitem__, kept), dtype=np.int64, count=len(kept))
            rows.append(doc_of[: len(grams)][valid])
            cols.append(ids)
        n_docs, n_features = len(docs), len(vocabulary)
        if not rows:
            return _csr_class()((n_docs, n_features), dtype=self.dtype)
        return _rows_to_csr(np.concatenate(rows), np.concatenate(cols), n_docs, n_features, self.dtype)

    def _get_token_pattern(self) -> Callable[[str], list[str]]:
        cached = self.__dict__.get("_fast_token_re")
        if cached is None or cached[0] != self.token_pattern:
            cached = (self.token_pattern, self.build_tokenizer())  # sklearn's checks; a compiled findall
            self.__dict__["_fast_token_re"] = cached
        return cached[1]

    # ---- tf-idf -------------------------------------------------------------------------------

    def transform(self, raw_documents: Iterable[Any]) -> Any:
        """Same as `TfidfVectorizer.transform`, without re-validating the intermediate count matrix."""
        if "vocabulary_" not in self.__dict__ or "_tfidf" not in self.__dict__:
            check_is_fitted(self, msg="The TF-IDF vectorizer is not fitted")
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        if self._fast_kind(raw_documents) is None:
            return super().transform(raw_documents)
        if not self.vocabulary_:
            self._check_vocabulary()
        _, X = self._count_vocab(raw_documents, fixed_vocab=True)
        if self.binary:
            X.data.fill(1)
        if X.dtype not in (np.float64, np.float32):
            X = X.astype(np.float64)
        tfidf = self._tfidf
        if tfidf.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        if hasattr(tfidf, "idf_"):
            X.data *= tfidf.idf_[X.indices]
        if tfidf.norm == "l2":
            inplace_csr_row_normalize_l2(X)
        elif tfidf.norm == "l1":
            inplace_csr_row_normalize_l1(X)
        elif tfidf.norm is not None:  # pragma: no cover - sklearn validates norm
            raise ValueError(f"unknown norm {tfidf.norm!r}")
        return _align_api_if_sparse(X)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_fast_cache", None)
        state.pop("_fast_token_re", None)
        return state


_SMALL_BATCH = 8


def _csr_class() -> type:
    """The sparse class sklearn's config asks for, built directly (no conversion afterwards)."""
    return sp.csr_array if get_config()["sparse_interface"] == "sparray" else sp.csr_matrix


def _rows_to_csr(r: np.ndarray, c: np.ndarray, n_docs: int, n_features: int, dtype: Any) -> Any:
    """Counts from (document, feature) pairs: duplicates summed, indices sorted."""
    idx_dtype = _index_dtype(max(len(c), n_features))
    order = np.argsort(r, kind="stable")
    indptr: np.ndarray = np.zeros(n_docs + 1, dtype=idx_dtype)
    np.cumsum(np.bincount(r, minlength=n_docs), out=indptr[1:])
    X = _csr_class()((np.ones(len(c), dtype=dtype), c[order].astype(idx_dtype), indptr), shape=(n_docs, n_features))
    X.sum_duplicates()
    return X


def _index_dtype(n: int) -> type:
    return np.int32 if n <= np.iinfo(np.int32).max else np.int64


def _product(
    word_ids: np.ndarray, indptr: np.ndarray, n_words: int, rows: list[np.ndarray], n_features: int, dtype: Any
) -> sp.csr_array:
    """Counts = (documents x words) @ (words x features), in scipy's C++ sparse product."""
    n_docs = len(indptr) - 1
    if not len(word_ids):
        return _csr_class()((n_docs, n_features), dtype=dtype)
    if n_docs <= _SMALL_BATCH:  # a few documents: concatenating their words' ids beats two constructions
        ids = [rows[k] for k in word_ids.tolist()]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        doc_of_word = np.repeat(np.arange(n_docs), np.diff(indptr))
        return _rows_to_csr(np.repeat(doc_of_word, lengths), np.concatenate(ids), n_docs, n_features, dtype)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    m_indptr = np.zeros(n_words + 1, dtype=np.int64)
    np.cumsum(lengths, out=m_indptr[1:])
    idx_dtype = _index_dtype(max(int(m_indptr[-1]), n_features))
    m_indices = np.concatenate(rows).astype(idx_dtype, copy=False) if rows else _EMPTY
    M = _csr_class()(
        (np.ones(len(m_indices), dtype=dtype), m_indices, m_indptr.astype(idx_dtype)), shape=(n_words, n_features)
    )
    w_dtype = _index_dtype(max(len(word_ids), n_words))
    W = _csr_class()(
        (np.ones(len(word_ids), dtype=dtype), word_ids.astype(w_dtype), indptr.astype(w_dtype)), shape=(n_docs, n_words)
    )
    return W @ M  # scipy's product sums duplicates; indices come out unsorted, which no consumer needs


def accelerate(estimator: Any, fast: bool = True) -> Any:
    """A deep copy of a fitted estimator (a pipeline, a `HaltungModel` ...) with sklearn's `TfidfVectorizer`,
    `PolarityFeatures` and `Pipeline` turned into their fast twins (``fast=True``) or back: twins share
    one fitted state, so only the code that runs changes. For bundles saved before this module, and for
    before/after benchmarks."""
    import copy

    pairs = [(TfidfVectorizer, FastTfidfVectorizer), (PolarityFeatures, FastPolarityFeatures), (Pipeline, FastPipeline)]
    swap = {plain: fast_cls for plain, fast_cls in pairs} if fast else {fast_cls: plain for plain, fast_cls in pairs}
    clone = copy.deepcopy(estimator)
    for obj in _walk(clone):
        target = swap.get(type(obj))
        if target is not None:
            for key in ("_fast_cache", "_fast_token_re", "_fast_parts_cache"):
                obj.__dict__.pop(key, None)
            obj.__class__ = target
    return clone


def _walk(obj: Any, seen: set[int] | None = None) -> Iterable[Any]:
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    children: Iterable[Any] = ()
    if isinstance(obj, dict):
        children = obj.values()
    elif isinstance(obj, list | tuple):
        children = obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = vars(obj).values()
    for child in children:
        if isinstance(child, dict | list | tuple) or hasattr(child, "get_params") or hasattr(child, "heads"):
            yield from _walk(child, seen)


# ---- lexicon features -------------------------------------------------------------------------

_TOKEN_INFO: dict[str | None, dict[str, tuple[float, bool, bool]]] = {}


class FastPolarityFeatures(PolarityFeatures):
    """`PolarityFeatures` with each token's lexicon weight, negation cue and scope flag cached, summed per
    document by `np.bincount` (in token order, as the original's loop adds them, so the values are identical)."""

    cache_size: int = 200_000

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:
        return sp.csr_matrix(self.transform_dense(X))

    def transform_dense(self, X: Sequence[str]) -> np.ndarray:
        """The features as a dense array (`transform` returns them as CSR like the original)."""
        lexicon = polarity_lexicon()
        mode = getattr(self, "negated", None)
        tokens = list(map(_LEX_TOKEN.findall, X))
        flat = list(chain.from_iterable(tokens))
        n = len(X)
        known = _TOKEN_INFO.setdefault(mode, {})
        if len(known) > self.cache_size:
            known.clear()
        for token in [t for t in dict.fromkeys(flat) if t not in known]:
            known[token] = token_info(token, lexicon, mode)
        info = list(map(known.__getitem__, flat))
        weights = np.fromiter((w for w, _, _ in info), dtype=np.float64, count=len(flat))
        cue = np.fromiter((c for _, c, _ in info), dtype=np.float64, count=len(flat))
        doc_of = np.repeat(np.arange(n), np.fromiter(map(len, tokens), dtype=np.int64, count=n))
        columns: list[np.ndarray] = []
        if mode == "split":
            negated = np.fromiter((g for _, _, g in info), dtype=bool, count=len(flat))
            split_pos, split_neg = negated & (weights > 0), negated & ~(weights > 0)
            columns = [
                np.bincount(doc_of[split_pos], np.abs(weights[split_pos]), minlength=n),
                np.bincount(doc_of[split_neg], np.abs(weights[split_neg]), minlength=n),
            ]
            cue = np.where(negated, 0.0, cue)
            weights = np.where(negated, 0.0, weights)
        pos, neg = weights > 0, weights < 0
        strong = np.abs(weights) >= getattr(self, "count_min", 0.0)
        out = np.column_stack(
            [
                np.bincount(doc_of[pos], weights[pos], minlength=n),
                np.bincount(doc_of[neg], -weights[neg], minlength=n),
                np.bincount(doc_of[pos & strong], minlength=n),
                np.bincount(doc_of[neg & strong], minlength=n),
                np.bincount(doc_of, cue, minlength=n),
                *(columns or [np.zeros(n), np.zeros(n)]),
            ]
        ).astype(np.float64)
        n_tokens = np.fromiter(map(len, tokens), dtype=np.float64, count=n)
        return finish(out, n_tokens, getattr(self, "rate", False))[:, self.columns()]


# ---- pipeline -----------------------------------------------------------------------------------


class FastPipeline(Pipeline):
    """`Pipeline` whose `predict_proba`/`predict` skip sklearn's per-call machinery for the Haltung shape
    (views -> ColumnTransformer of sparse views -> LogisticRegression): every view's transform runs
    directly and the linear decision is summed block by block, instead of ColumnTransformer's joblib
    dispatch, output wrapping, `hstack` and LogisticRegression's re-validation. The same numbers up to
    float rounding; any other shape, or any routed parameter, takes sklearn's path."""

    def _fast_parts(self) -> tuple[Any, list[tuple[Any, int, np.ndarray]], Any] | None:
        if len(self.steps) != 3:
            return None
        views, ct, clf = (step for _, step in self.steps)
        if not isinstance(ct, ColumnTransformer) or type(clf) is not LogisticRegression:
            return None
        if not hasattr(clf, "coef_") or not hasattr(ct, "output_indices_"):
            return None
        key = (clf.coef_, ct.transformers_)  # compared by identity: a refit makes new objects
        cached = self.__dict__.get("_fast_parts_cache")
        if cached is not None and all(a is b for a, b in zip(cached[0], key, strict=True)):
            return cached[1]
        blocks = []
        for name, trans, column in ct.transformers_:
            cols = ct.output_indices_[name]
            if trans == "drop" or cols.stop == cols.start:
                continue
            if not isinstance(column, int | np.integer) or not hasattr(trans, "transform"):
                return None
            transform = getattr(trans, "transform_dense", trans.transform)
            blocks.append((transform, int(column), np.ascontiguousarray(clf.coef_[:, cols].T)))
        parts = (views, blocks, clf)
        self.__dict__["_fast_parts_cache"] = (key, parts)
        return parts

    def _fast_proba(self, X: Any) -> np.ndarray | None:
        parts = self._fast_parts()
        if parts is None:
            return None
        views, blocks, clf = parts
        Z = views.transform(X)
        decision = np.zeros((Z.shape[0], clf.coef_.shape[0]))
        for transform, column, coef_t in blocks:
            texts = Z[:, column]
            if any(texts):  # an all-empty view (no target, target not mentioned) has no features: adds 0
                decision += transform(texts) @ coef_t
        decision += clf.intercept_
        if len(clf.classes_) <= 2:
            p = expit(decision[:, 0])
            return np.stack([1 - p, p], axis=1)
        return softmax(decision, copy=False)

    def predict_proba(self, X: Any, **params: Any) -> np.ndarray:
        if not params:
            proba = self._fast_proba(X)
            if proba is not None:
                return proba
        return super().predict_proba(X, **params)

    def predict(self, X: Any, **params: Any) -> np.ndarray:
        if not params:
            proba = self._fast_proba(X)
            if proba is not None:
                return self.steps[-1][1].classes_[proba.argmax(axis=1)]
        return super().predict(X, **params)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_fast_parts_cache", None)
        return state
