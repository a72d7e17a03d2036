"""The fast twins in training/fastvec.py compute exactly what sklearn computes (up to float rounding)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from training.data import Example
from training.fastvec import FastPipeline, FastPolarityFeatures, FastTfidfVectorizer, accelerate, char_wb_ngrams
from training.lexicon import PolarityFeatures
from training.model import HaltungModel
from training.negation import mark_negation

from .conftest import SavedModel

CONFIGS = {
    "char_wb": {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2},
    "word": {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1},
    "context": {"ngram_range": (1, 2), "sublinear_tf": True, "lowercase": True, "token_pattern": r"\S+"},
    "char_wb_cased_3": {"analyzer": "char_wb", "ngram_range": (1, 3), "lowercase": False, "norm": "l1"},
    "word_1_3_binary": {"ngram_range": (1, 3), "binary": True, "max_df": 0.5, "sublinear_tf": False},
}

# Whitespace variants, short words, case mappings that change length or depend on context, empty text.
EDGE_CASES = [
    "",
    "   ",
    "a",
    "Ab  c\t\td\u00a0e\u2028f\u3000g\x1ch",
    "ΟΔΟΣ ΟΔΟΣ. İstanbul ẞ STRASSE",
    "Die  Regierung \n\n hat  die Warnungen   ignoriert!!!",
    "x y z 1 22 333 🙂🙂 — „Zitat“",
    "L_Russland R_kritisiert R_die",
]


def _assert_same(a: object, b: object) -> None:
    a, b = a.tocsr(), b.tocsr()  # type: ignore[attr-defined]
    assert a.shape == b.shape
    assert abs(a - b).max() <= 1e-12 if a.nnz or b.nnz else True
    a.sort_indices()
    b.sort_indices()
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)


def _check_equivalence(name: str, train: list[str], test: list[str]) -> None:
    plain, fast = TfidfVectorizer(**CONFIGS[name]), FastTfidfVectorizer(**CONFIGS[name])
    _assert_same(plain.fit_transform(train), fast.fit_transform(train))
    assert plain.vocabulary_ == fast.vocabulary_
    assert np.array_equal(plain.idf_, fast.idf_)
    _assert_same(plain.transform(test), fast.transform(test))
    _assert_same(plain.transform(test), fast.transform(test))  # second time from the word cache
    for text in test[:30]:  # the small-batch path
        _assert_same(plain.transform([text]), fast.transform([text]))


@pytest.fixture(scope="module")
def starter_texts(starter_examples: list[Example]) -> list[str]:
    return [e.text for e in starter_examples]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_same_vocabulary_idf_and_matrix_on_the_starter_corpus(name: str, starter_texts: list[str]) -> None:
    half = len(starter_texts) // 2
    _check_equivalence(name, starter_texts[:half] + EDGE_CASES, starter_texts[half:] + EDGE_CASES)


@pytest.mark.parametrize("name", ["char_wb", "word", "context"])
def test_same_matrix_on_shared_news_and_tweets(name: str, shared_data: Path, starter_texts: list[str]) -> None:
    with (shared_data / "news_articles" / "10kgnad.jsonl").open(encoding="utf-8") as f:
        articles = [json.loads(line)["text"] for _, line in zip(range(150), f, strict=False)]
    with (shared_data / "germeval2017" / "dev.jsonl").open(encoding="utf-8") as f:
        tweets = [json.loads(line)["text"] for _, line in zip(range(500), f, strict=False)]
    sentences = [s for a in articles for s in a.split(". ")]
    _check_equivalence(name, starter_texts + tweets[:250], sentences + tweets[250:] + articles[:20])


def test_char_wb_ngrams_match_sklearn() -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False).build_analyzer()
    for word in ["a", "ab", "abc", "Regierung", "🙂", "İ"]:
        assert char_wb_ngrams(word, 2, 5) == analyzer(word)


def test_cache_is_bounded_and_not_pickled(starter_texts: list[str]) -> None:
    fast = FastTfidfVectorizer(**CONFIGS["char_wb"]).fit(starter_texts)
    fast.cache_size = 50
    plain = TfidfVectorizer(**CONFIGS["char_wb"]).fit(starter_texts)
    for start in range(0, 200, 20):
        batch = starter_texts[start : start + 20]
        _assert_same(plain.transform(batch), fast.transform(batch))
    words = fast.__dict__["_fast_cache"][1]
    assert len(words) <= 50 + len({w for t in starter_texts[180:200] for w in t.lower().split()})
    restored = pickle.loads(pickle.dumps(fast))
    assert "_fast_cache" not in restored.__dict__
    _assert_same(plain.transform(starter_texts[:50]), restored.transform(starter_texts[:50]))


def test_refit_drops_the_old_cache(starter_texts: list[str]) -> None:
    fast = FastTfidfVectorizer(**CONFIGS["char_wb"]).fit(starter_texts[:300])
    fast.transform(starter_texts[:10])
    fast.fit(starter_texts[300:600])
    plain = TfidfVectorizer(**CONFIGS["char_wb"]).fit(starter_texts[300:600])
    _assert_same(plain.transform(starter_texts[:10]), fast.transform(starter_texts[:10]))


def test_sklearn_conventions_and_fallbacks(starter_texts: list[str]) -> None:
    fast = FastTfidfVectorizer(**CONFIGS["word"])
    assert clone(fast).get_params() == fast.get_params()
    with pytest.raises(ValueError, match="string object received"):
        fast.fit(starter_texts).transform("ein Satz")
    # options the fast path does not cover run sklearn's own code, with the same results
    for kw in ({"analyzer": "char", "ngram_range": (2, 3)}, {"stop_words": ["die"]}, {"strip_accents": "unicode"}):
        _assert_same(
            TfidfVectorizer(**kw).fit_transform(starter_texts[:200]),
            FastTfidfVectorizer(**kw).fit_transform(starter_texts[:200]),
        )


LEXICON_CONFIGS = [
    {},
    {"negated": "flip"},
    {"negated": "split"},
    {"negated": "flip", "counts": False},
    {"negated": "flip", "count_min": 0.05},
]


@pytest.mark.parametrize("config", LEXICON_CONFIGS, ids=str)
def test_polarity_features_identical(starter_texts: list[str], config: dict[str, object]) -> None:
    texts = starter_texts[:400] + EDGE_CASES + ["L_nicht R_gut R_schlecht", "Kein Erfolg, niemals gut"]
    texts += [mark_negation(t) for t in texts]
    plain, fast = PolarityFeatures(**config).fit(texts), FastPolarityFeatures(**config).fit(texts)
    expected = plain.transform(texts).toarray()
    assert expected.shape[1] == len(plain.get_feature_names_out())
    assert np.array_equal(expected, fast.transform(texts).toarray())
    assert np.array_equal(expected, fast.transform_dense(texts))
    assert np.array_equal(plain.transform(texts[:1]).toarray(), fast.transform(texts[:1]).toarray())


def test_model_predictions_unchanged(saved_model: SavedModel, heldout_slice: list[Example]) -> None:
    """The session model (fast classes) against the same fitted state run through sklearn's classes."""
    fast = saved_model.model
    plain = accelerate(fast, fast=False)
    assert all(type(p) is Pipeline for p in plain.heads.values())
    assert all(type(p) is FastPipeline for p in fast.heads.values())
    texts = [e.text for e in heldout_slice] + EDGE_CASES[2:]
    for head in fast.heads:
        targets = [e.target for e in heldout_slice] + ["Russland"] * (len(EDGE_CASES) - 2) if head == "stance" else None
        expected = plain.predict_proba(head, texts, targets)
        got = fast.predict_proba(head, texts, targets)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        labels = [p.label for p in plain.predict(head, texts, targets)]
        assert [p.label for p in fast.predict(head, texts, targets)] == labels
        one = [fast.predict_proba(head, [t], None if targets is None else [targets[i]]) for i, t in enumerate(texts)]
        np.testing.assert_allclose(np.vstack(one), expected, rtol=0, atol=1e-12)
        assert list(fast.heads[head].predict([(texts[0], None)])) == list(plain.heads[head].predict([(texts[0], None)]))
        assert fast.explain(head, texts[:5], None if targets is None else targets[:5]) == plain.explain(
            head, texts[:5], None if targets is None else targets[:5]
        )
    back = accelerate(plain)
    assert isinstance(back, HaltungModel)
    np.testing.assert_allclose(back.predict_proba("sentiment", texts), fast.predict_proba("sentiment", texts), atol=0)


def test_refitted_pipeline_does_not_reuse_the_old_fast_path(starter_examples: list[Example]) -> None:
    from training.features import build_pipeline
    from training.fit import head_rows

    rows, y = head_rows(starter_examples, "sentiment")
    pipeline = build_pipeline([0]).fit(rows[:300], y[:300])
    first = pipeline.predict_proba(rows[:20])
    pipeline.fit(rows[300:700], y[300:700])
    expected = accelerate(pipeline, fast=False).predict_proba(rows[:20])
    np.testing.assert_allclose(pipeline.predict_proba(rows[:20]), expected, rtol=0, atol=1e-12)
    assert not np.allclose(first, expected)
