"""What Haltung relies on in scikit-learn: the pinned version range, the private names `training.fastvec`
uses (not a contract of scikit-learn's, so checked here), and scikit-learn's own estimator checks on the
project's estimators and transformers."""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sklearn
from packaging.requirements import Requirement
from sklearn import get_config
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils import estimator_checks as checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from training.fastvec import FastPolarityFeatures, FastTfidfVectorizer
from training.features import CONTEXT, TEXT, QuestionFlag, TargetViews, build_pipeline
from training.lexicon import PolarityFeatures

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def own_estimators() -> list[BaseEstimator]:
    return [TargetViews(), QuestionFlag(), PolarityFeatures(), FastPolarityFeatures(), FastTfidfVectorizer()]


def test_installed_scikit_learn_is_in_the_pinned_range() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    (pin,) = [Requirement(d) for d in dependencies if Requirement(d).name == "scikit-learn"]
    assert pin.specifier.contains(sklearn.__version__), f"scikit-learn {sklearn.__version__} outside {pin}"
    assert any(s.operator == "<" for s in pin.specifier), "fastvec uses private names: pin an upper bound"


def test_the_private_names_fastvec_uses_exist() -> None:
    from sklearn.utils._sparse import _align_api_if_sparse

    assert callable(_align_api_if_sparse)
    assert get_config()["sparse_interface"] in ("spmatrix", "sparray")
    assert list(inspect.signature(TfidfVectorizer._count_vocab).parameters) == ["self", "raw_documents", "fixed_vocab"]
    vectorizer = TfidfVectorizer().fit(["ein Satz", "noch ein Satz"])
    assert callable(vectorizer._check_vocabulary)
    assert hasattr(vectorizer._tfidf, "idf_")  # transform scales the counts with it directly
    columns = ColumnTransformer([("word", TfidfVectorizer(), 0)]).fit([["ein Satz"], ["noch einer"]])
    assert columns.output_indices_["word"] == slice(0, 4)  # ein, einer, noch, satz


@pytest.mark.filterwarnings("ignore:Can't test estimator")
@parametrize_with_checks(own_estimators())
def test_sklearn_estimator_checks(estimator: BaseEstimator, check: Callable[[BaseEstimator], Any]) -> None:
    """scikit-learn's own suite. It feeds numeric arrays, so for estimators that (honestly) declare text
    input it runs no data checks; the conventions it can check without data are in test_api_conventions."""
    check(estimator)


API_CHECKS = [
    checks.check_no_attributes_set_in_init,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_estimator_cloneable,
    checks.check_estimator_repr,
    checks.check_mixin_order,
    checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types,
]


@pytest.mark.parametrize(
    "estimator", [*own_estimators(), build_pipeline([TEXT, CONTEXT])], ids=lambda e: type(e).__name__
)
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_api_conventions(estimator: BaseEstimator, check: Callable[[str, BaseEstimator], None]) -> None:
    """The conventions that do not need numeric input: `__init__` only stores parameters, get/set_params,
    clone, repr, mixin order, valid tags."""
    check(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("estimator", own_estimators(), ids=lambda e: type(e).__name__)
def test_parameters_are_default_constructible(estimator: BaseEstimator) -> None:
    checks.check_parameters_default_constructible(type(estimator).__name__, estimator)


@pytest.mark.parametrize(
    "estimator", [TargetViews(), QuestionFlag(), PolarityFeatures()], ids=lambda e: type(e).__name__
)
def test_text_transformers_declare_text_input(estimator: BaseEstimator) -> None:
    """So that scikit-learn's checks do not feed them numbers (and tools know what they take)."""
    tags = estimator.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
