"""Haltung's training library: the whole public API, from one place.

    from training import DirectoryRepository, retrain, promote, LabelledRow

- the model: `HaltungModel` (`predict`, `predict_proba`, `explain`), `HeadPrediction`, `Contribution`;
  stance toward targets only where they are mentioned: `Target`, `Mention`, `score_stance`, `StanceResult`
- the model repository, the one owner of the models: `ModelRepository` (interface),
  `DirectoryRepository` (today's `models/` directory; `activate(version, expected_current=…)` is a
  compare-and-swap, `ANY` skips the comparison), `Activation` (the history), `Manifest`;
  `load_bundle(directory)` verifies and loads one bundle directory outside a repository
- labelled sentences: `Label` (the one schema of a label, with the `Stance`/`Sentiment` label sets;
  `LABEL_RULE` is the error type of a broken labelling rule) and `LabelledRow` (a line of a training
  file), `read_examples` for such files, `Example` (a validated row in memory), `HEADS`
- training: `train(examples, …)` → `Trained`, `retrain(repository, labels, …)` → `RetrainResult`, then
  `promote(repository, result, by=…)`; `SearchSpace`, `DEFAULT_SPACE`, `FAST_SPACE`
- reading articles: `Segmenter` (SoMaJo sentences with exact offsets and boilerplate marks), `Sentence`,
  `segment(...)` → `Document`s, `analyse(model, documents, targets, …)`: the one code path from text to
  per-sentence sentiment and stance plus summaries (the service's `/v1/classify`, batch scoring)
- active learning: `select(model, texts, head, target, k, exclude)` → `Selection` of `Picked` sentences
  (uncertainty with a diversity step; `STRATEGIES`, `ActiveStrategy`), the review queue's one code path
- errors: `HaltungError` and its subclasses (see `training.errors`)

Everything else in the package is an implementation detail and may change without notice.
"""

from training.active import STRATEGIES, Picked, Selection, select
from training.active import Strategy as ActiveStrategy
from training.analysis import Document, analyse, segment
from training.bundle import load_bundle
from training.data import HEADS, Example, read_examples
from training.errors import (
    ActivationConflict,
    BundleError,
    DataError,
    HaltungError,
    InvalidVersion,
    NoCurrentModel,
    TooManySentences,
    TrainingError,
    VersionNotFound,
)
from training.fit import DEFAULT_SPACE, SearchSpace
from training.manifest import Manifest
from training.model import Contribution, HaltungModel, HeadPrediction
from training.repository import ANY, Activation, DirectoryRepository, ModelRepository, VersionEntry
from training.retrain import FAST_SPACE, RetrainResult, promote, retrain
from training.schema import LABEL_RULE, Label, LabelledRow, Sentiment, Stance
from training.segmentation import Segmenter, Sentence
from training.stance import StanceResult, Unmentioned, score_stance
from training.targets import Mention, Target
from training.train import Trained, train

__all__ = [
    "ANY",
    "DEFAULT_SPACE",
    "FAST_SPACE",
    "HEADS",
    "LABEL_RULE",
    "STRATEGIES",
    "Activation",
    "ActivationConflict",
    "ActiveStrategy",
    "BundleError",
    "Contribution",
    "DataError",
    "DirectoryRepository",
    "Document",
    "Example",
    "HaltungError",
    "HaltungModel",
    "HeadPrediction",
    "InvalidVersion",
    "Label",
    "LabelledRow",
    "Manifest",
    "Mention",
    "ModelRepository",
    "NoCurrentModel",
    "Picked",
    "RetrainResult",
    "SearchSpace",
    "Segmenter",
    "Selection",
    "Sentence",
    "Sentiment",
    "Stance",
    "StanceResult",
    "Target",
    "TooManySentences",
    "Trained",
    "TrainingError",
    "Unmentioned",
    "VersionEntry",
    "VersionNotFound",
    "analyse",
    "load_bundle",
    "promote",
    "read_examples",
    "retrain",
    "score_stance",
    "segment",
    "select",
    "train",
]
