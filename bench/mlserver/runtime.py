"""A custom MLServer runtime serving the project's model (a Haltung bundle) over the V2 inference protocol.

Why a custom runtime and not ``mlserver_sklearn``: a Haltung head is a scikit-learn pipeline, but its input
rows are ``(text, target)`` pairs, which the V2 sklearn runtime cannot build from a BYTES tensor; wrapping
`HaltungModel` keeps the model, its inputs and its work identical to the Haltung service's.

Inputs (V2, one BYTES tensor):
* ``sentences``: pre-split sentences, scored as given (like ``{"sentences": [...]}`` on /v1/classify);
* ``text``: whole articles, split with the project's Segmenter first (like ``{"text": ...}``).
Outputs: ``sentiment`` and ``stance`` (FP64, one row of probabilities per sentence, columns in the labels
order given in the outputs' parameters). Settings ``parameters.uri``: the bundle directory;
``parameters.extra.classes``: ``"fast"`` (training/fastvec.py, as trained) or ``"sklearn"`` (scikit-learn's
own classes, the state before it).

Serve with ``bench/perf_http.py`` (which writes settings.json/model-settings.json) or by hand:
``PYTHONPATH=<repo>:<repo>/bench/mlserver mlserver start <dir with settings.json and model-settings.json>``.
"""

from __future__ import annotations

from typing import Any

from mlserver import MLModel
from mlserver.codecs import NumpyCodec, StringCodec
from mlserver.types import InferenceRequest, InferenceResponse
from threadpoolctl import threadpool_limits


class HaltungRuntime(MLModel):
    async def load(self) -> bool:
        from training import load_bundle
        from training.fastvec import accelerate
        from training.segmentation import Segmenter

        params = self.settings.parameters
        assert params is not None and params.uri
        extra: dict[str, Any] = params.extra or {}
        model = load_bundle(params.uri)
        self._model = accelerate(model, fast=extra.get("classes", "fast") == "fast")
        self._segmenter = Segmenter()
        threadpool_limits(limits=1)  # like the Haltung service's workers: one BLAS thread each
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        request = payload.inputs[0]
        texts = [t if isinstance(t, str) else t.decode() for t in StringCodec.decode_input(request)]
        if request.name == "text":
            texts = [s.text for doc in self._segmenter.split_many(texts) for s in doc]
        outputs = []
        for head in ("sentiment", "stance"):
            proba = self._model.predict_proba(head, texts)
            output = NumpyCodec.encode_output(head, proba)
            output.parameters = {"labels": ",".join(self._model.labels(head))}  # type: ignore[assignment]
            outputs.append(output)
        return InferenceResponse(model_name=self.name, outputs=outputs)
