"""Python client of the Haltung API (depends on httpx only; pandas optional, for `to_dataframe()`).

    from haltung_client import Client, Target

    with Client("http://127.0.0.1:8000") as haltung:
        result = haltung.classify(open("article.txt").read(), targets=[Target("Russland", ("Kreml",)), "Putin"])
        for sentence in result.documents[0].sentences:
            print(sentence.text, sentence.sentiment.label, [s.label for s in sentence.stance])
"""

from haltung_client.client import AsyncClient, Backoff, Client
from haltung_client.errors import HaltungAPIError
from haltung_client.types import (
    Activated,
    ClassifyResult,
    DocumentResult,
    Feature,
    HeadResult,
    Health,
    Job,
    Label,
    LabelPage,
    LabelsStored,
    Mention,
    Models,
    ModelVersion,
    Sentence,
    StanceResult,
    Summary,
    Target,
    TargetSummary,
)

__all__ = [
    "Activated",
    "AsyncClient",
    "Backoff",
    "ClassifyResult",
    "Client",
    "DocumentResult",
    "Feature",
    "HaltungAPIError",
    "HeadResult",
    "Health",
    "Job",
    "Label",
    "LabelPage",
    "LabelsStored",
    "Mention",
    "ModelVersion",
    "Models",
    "Sentence",
    "StanceResult",
    "Summary",
    "Target",
    "TargetSummary",
]
