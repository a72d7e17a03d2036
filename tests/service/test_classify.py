"""POST /v1/classify on a tiny real model: input forms, targets, scores, offsets, summary, explain, robustness."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from tests.service.conftest import TinyModel

pytestmark = pytest.mark.asyncio(loop_scope="session")

VIDEO_NOTICE = (
    "Um dieses Video anzusehen, aktivieren Sie bitte JavaScript und erwägen Sie ein Upgrade auf einen "
    "Webbrowser, der HTML5-Videos unterstützt."
)
# A scraped article in miniature: headline without full stop, an HTML remnant, quotes, boilerplate.
ARTICLE = (
    "Kim und Putin besiegeln ihren „Waffendeal“ in Wladiwostok\n"
    "Russland will seine Vorräte an Munition auffüllen.< /p>\n"
    "Die Regierung in Kiew warnte am Montag vor neuen Angriffen. Herr Stupak sagte, das sei „ein gefährlicher Deal“.\n"
    f"{VIDEO_NOTICE}\n"
    "Mehr: Russland\n"
    "Die Sanktionen gegen Russlands Wirtschaft zeigen nach Ansicht von Fachleuten kaum Wirkung."
)
ARTICLE_SENTENCES = [
    "Kim und Putin besiegeln ihren „Waffendeal“ in Wladiwostok",
    "Russland will seine Vorräte an Munition auffüllen.",
    "Die Regierung in Kiew warnte am Montag vor neuen Angriffen.",
    "Herr Stupak sagte, das sei „ein gefährlicher Deal“.",
    VIDEO_NOTICE,
    "Mehr: Russland",
    "Die Sanktionen gegen Russlands Wirtschaft zeigen nach Ansicht von Fachleuten kaum Wirkung.",
]
ARTICLE_BOILERPLATE = [VIDEO_NOTICE, "Mehr: Russland"]


async def classify(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/classify", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def assert_probabilities(scores: dict[str, float], labels: Sequence[str]) -> None:
    assert list(scores) == list(labels)
    assert all(0.0 <= p <= 1.0 for p in scores.values())
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-9)


def target_name(target: str | dict[str, Any]) -> str:
    return target["name"] if isinstance(target, dict) else target


def assert_stance_entry(entry: dict[str, Any], sentence: str, tiny: TinyModel) -> None:
    """A stance where the target is mentioned (or asked about), with exact mention offsets; none elsewhere."""
    assert isinstance(entry["mentioned"], bool)
    mention = entry["mention"]
    assert (mention is not None) is entry["mentioned"]
    if mention is not None:
        assert sentence[mention["start"] : mention["end"]] == mention["text"]
        assert mention["via"] in ("name", "alias", "derived")
    if entry["basis"] is None:
        assert (entry["label"], entry["scores"], entry["explanation"], entry["mentioned"]) == (None, None, None, False)
        return
    assert entry["basis"] == ("mention" if entry["mentioned"] else entry["basis"])
    assert entry["basis"] in ("mention", "question", "tone")
    assert entry["label"] in tiny.labels("stance")
    assert_probabilities(entry["scores"], tiny.labels("stance"))


def assert_document(
    doc: dict[str, Any], text: str | None, tiny: TinyModel, targets: Sequence[str | dict[str, Any]]
) -> None:
    """Shape and invariants of one document; `text` is the original to check offsets against (None: skip)."""
    previous_end = 0
    for i, s in enumerate(doc["sentences"]):
        assert s["index"] == i
        if text is not None:
            assert text[s["start"] : s["end"]] == s["text"]
            assert previous_end <= s["start"] <= s["end"]
            previous_end = s["end"]
        assert isinstance(s["boilerplate"], bool)
        assert s["sentiment"]["label"] in tiny.labels("sentiment")
        assert_probabilities(s["sentiment"]["scores"], tiny.labels("sentiment"))
        assert [e["target"] for e in s["stance"]] == [target_name(t) for t in targets]
        for entry in s["stance"]:
            assert_stance_entry(entry, s["text"], tiny)
    assert_summary(doc, tiny)


def assert_summary(doc: dict[str, Any], tiny: TinyModel) -> None:
    """Counts and mean scores of the summary recomputed from the non-boilerplate sentences: sentiment over
    all of them, stance over those that mention the target (or all, for a question target)."""
    kept = [s for s in doc["sentences"] if not s["boilerplate"]]
    summary = doc["summary"]
    assert summary["sentences"] == len(kept)
    if not kept:
        return
    labels = tiny.labels("sentiment")
    counts = Counter(s["sentiment"]["label"] for s in kept)
    assert summary["sentiment"] == {lab: counts.get(lab, 0) for lab in labels}
    for lab in labels:
        mean = sum(s["sentiment"]["scores"][lab] for s in kept) / len(kept)
        assert summary["sentiment_mean_scores"][lab] == pytest.approx(mean, abs=1e-6)
    targets = [e["target"] for e in kept[0]["stance"]]
    assert [t["target"] for t in summary["stance"]] == targets
    for j, entry in enumerate(summary["stance"]):
        own = [s["stance"][j] for s in kept if s["stance"][j]["basis"] in ("mention", "question")]
        assert entry["sentences"] == len(own)
        stance_counts = Counter(e["label"] for e in own)
        assert entry["counts"] == {lab: stance_counts.get(lab, 0) for lab in tiny.labels("stance")}
        if not own:
            assert (entry["label"], entry["mean_scores"]) == (None, None)
            continue
        for lab in tiny.labels("stance"):
            assert entry["mean_scores"][lab] == pytest.approx(sum(e["scores"][lab] for e in own) / len(own), abs=1e-6)
        assert entry["label"] == max(entry["mean_scores"], key=entry["mean_scores"].__getitem__)


# -- the three input forms ------------------------------------------------------------------------------------


async def test_text_is_split_with_exact_offsets(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    answer = await classify(client, text=ARTICLE, targets=["Russland"])
    assert answer["model_version"] == tiny_model.version
    [doc] = answer["documents"]
    assert doc["id"] is None
    assert [s["text"] for s in doc["sentences"]] == ARTICLE_SENTENCES
    assert_document(doc, ARTICLE, tiny_model, ["Russland"])
    assert doc["sentences"][0]["start"] == 0
    assert not any("<" in s["text"] or ">" in s["text"] for s in doc["sentences"])


async def test_documents_keep_their_ids_and_order(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    documents = [
        {"id": "a1", "text": "Der Euro legte deutlich zu. Anleger zeigten sich erleichtert."},
        {"text": "Die Opposition kritisierte den Haushalt scharf."},
        {"id": "a3", "text": ARTICLE},
    ]
    answer = await classify(client, documents=documents, targets=["Russland", "Regierung"])
    assert answer["model_version"] == tiny_model.version
    assert [d["id"] for d in answer["documents"]] == ["a1", None, "a3"]
    for given, doc in zip(documents, answer["documents"], strict=True):
        assert_document(doc, given["text"], tiny_model, ["Russland", "Regierung"])
    assert [len(d["sentences"]) for d in answer["documents"]] == [2, 1, len(ARTICLE_SENTENCES)]


async def test_sentences_are_scored_as_given(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    """Pre-split sentences: one result each, in order, never re-split; offsets index into each given string."""
    sentences = ["Der Euro legte zu. Anleger jubelten.", "  Die Inflation steigt weiter.\n", "Mehr: Russland"]
    answer = await classify(client, sentences=sentences)
    [doc] = answer["documents"]
    assert len(doc["sentences"]) == len(sentences)
    for given, s in zip(sentences, doc["sentences"], strict=True):
        assert given[s["start"] : s["end"]] == s["text"] == given.strip()
    assert [s["boilerplate"] for s in doc["sentences"]] == [False, False, True]
    assert_document(doc, None, tiny_model, [])


async def test_model_version_in_every_answer(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    for body in (
        {"text": "Ein Satz."},
        {"documents": [{"text": "Ein Satz."}]},
        {"sentences": ["Ein Satz."]},
        {"text": "Ein Satz.", "targets": ["Satz"], "explain": 2},
    ):
        assert (await classify(client, **body))["model_version"] == tiny_model.version


# -- targets --------------------------------------------------------------------------------------------------


async def test_without_targets_there_is_no_stance(client: httpx.AsyncClient) -> None:
    """A stance is toward something: without targets there is none (sentiment only)."""
    answer = await classify(client, text="Russland greift an. Die Ukraine wehrt sich.")
    assert all(s["stance"] == [] for s in answer["documents"][0]["sentences"])
    assert answer["documents"][0]["summary"]["stance"] == []


async def test_one_stance_entry_per_target_and_inflected_mentions(client: httpx.AsyncClient) -> None:
    sentences = [
        "Die Sanktionen gegen Russlands Wirtschaft greifen.",
        "Nordkorea liefert Granaten.",
        "Das Wetter war schön.",
    ]
    answer = await classify(client, sentences=sentences, targets=["Russland", "Nordkorea"])
    mentioned = [[(e["target"], e["mentioned"]) for e in s["stance"]] for s in answer["documents"][0]["sentences"]]
    assert mentioned == [
        [("Russland", True), ("Nordkorea", False)],
        [("Russland", False), ("Nordkorea", True)],
        [("Russland", False), ("Nordkorea", False)],
    ]
    summary = answer["documents"][0]["summary"]
    assert [t["target"] for t in summary["stance"]] == ["Russland", "Nordkorea"]
    assert [t["sentences"] for t in summary["stance"]] == [1, 1]


MENTIONS = [
    "Russland ist kein verlässlicher Partner.",
    "Der Kreml wies die Vorwürfe zurück.",
    "Die russische Armee rückt weiter vor.",
    "Frankreich hat der Ukraine großzügige Hilfe zugesagt.",
    "Weißrussland schweigt.",
]
RUSSLAND = {"name": "Russland", "aliases": ["Moskau", "Kreml"]}


async def test_aliases_and_derived_forms_are_mentions_with_exact_offsets(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    answer = await classify(client, sentences=MENTIONS, targets=[RUSSLAND, "Ukraine"])
    [doc] = answer["documents"]
    assert_document(doc, None, tiny_model, [RUSSLAND, "Ukraine"])
    found = [
        [e["mention"] and (e["mention"]["text"], e["mention"]["via"]) for e in s["stance"]] for s in doc["sentences"]
    ]
    assert found == [
        [("Russland", "name"), None],
        [("Kreml", "alias"), None],
        [("russische", "derived"), None],
        [None, ("Ukraine", "name")],
        [None, None],
    ]
    first = doc["sentences"][2]["stance"][0]["mention"]
    assert (first["start"], first["end"]) == (4, 13)


async def test_unmentioned_targets_get_no_stance_by_default(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    answer = await classify(client, sentences=MENTIONS, targets=[RUSSLAND])
    entries = [s["stance"][0] for s in answer["documents"][0]["sentences"]]
    assert [e["basis"] for e in entries] == ["mention", "mention", "mention", None, None]
    for e in entries[3:]:
        assert (e["mentioned"], e["mention"], e["label"], e["scores"]) == (False, None, None, None)
    summary = answer["documents"][0]["summary"]["stance"][0]
    assert (summary["target"], summary["basis"], summary["sentences"]) == ("Russland", "mention", 3)
    assert sum(summary["counts"].values()) == 3
    assert_summary(answer["documents"][0], tiny_model)


async def test_unmentioned_score_gives_marked_tone_guesses_that_the_summary_ignores(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    default = await classify(client, sentences=MENTIONS, targets=[RUSSLAND])
    scored = await classify(client, sentences=MENTIONS, targets=[RUSSLAND], unmentioned="score")
    entries = [s["stance"][0] for s in scored["documents"][0]["sentences"]]
    assert [e["basis"] for e in entries] == ["mention", "mention", "mention", "tone", "tone"]
    for e, sentence in zip(entries[3:], MENTIONS[3:], strict=True):
        [guess] = tiny_model.model.predict("stance", [sentence], ["Russland"])
        assert (e["mentioned"], e["label"]) == (False, guess.label)
        assert e["scores"] == pytest.approx(guess.scores, abs=1e-12)
    assert scored["documents"][0]["summary"] == default["documents"][0]["summary"]


async def test_a_document_that_never_mentions_the_target_has_no_stance_toward_it(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    answer = await classify(client, text="Die Ukraine feiert einen Erfolg.", targets=["Russland", "Ukraine"])
    russland, ukraine = answer["documents"][0]["summary"]["stance"]
    assert russland == {
        "target": "Russland",
        "basis": "mention",
        "sentences": 0,
        "counts": dict.fromkeys(tiny_model.labels("stance"), 0),
        "label": None,
        "mean_scores": None,
    }
    assert ukraine["sentences"] == 1 and ukraine["label"] in tiny_model.labels("stance")
    assert sum(ukraine["mean_scores"].values()) == pytest.approx(1.0, abs=1e-5)


async def test_question_targets_apply_to_every_sentence(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    question = "Soll Deutschland der Ukraine mehr Waffen liefern?"
    answer = await classify(client, sentences=MENTIONS, targets=[question, "Ukraine"])
    [doc] = answer["documents"]
    assert_document(doc, None, tiny_model, [question, "Ukraine"])
    assert all(s["stance"][0]["basis"] == "question" and s["stance"][0]["mention"] is None for s in doc["sentences"])
    summary = doc["summary"]["stance"][0]
    assert (summary["basis"], summary["sentences"]) == ("question", len(MENTIONS))


async def test_stance_is_scored_toward_each_target(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    """Each entry's scores are the model's own prediction for that (sentence, target, mention) triple."""
    text, targets = "Russland kritisiert Nordkorea und die Regierung scharf.", ["Russland", "Regierung"]
    answer = await classify(client, sentences=[text], targets=targets)
    for target, entry in zip(targets, answer["documents"][0]["sentences"][0]["stance"], strict=True):
        span = (entry["mention"]["start"], entry["mention"]["end"])
        [expected] = tiny_model.model.predict("stance", [text], [target], [span])
        assert entry["label"] == expected.label
        assert entry["scores"] == pytest.approx(expected.scores, abs=1e-12)
    sentiment = answer["documents"][0]["sentences"][0]["sentiment"]
    assert sentiment["scores"] == pytest.approx(tiny_model.model.predict("sentiment", [text])[0].scores, abs=1e-12)


# -- boilerplate and summary ----------------------------------------------------------------------------------


async def test_boilerplate_is_returned_but_left_out_of_the_summary(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    answer = await classify(client, text=ARTICLE, targets=["Russland"])
    [doc] = answer["documents"]
    assert [s["text"] for s in doc["sentences"] if s["boilerplate"]] == ARTICLE_BOILERPLATE
    assert doc["summary"]["sentences"] == len(ARTICLE_SENTENCES) - len(ARTICLE_BOILERPLATE)
    assert_summary(doc, tiny_model)
    # Exactly the summary of the reporting sentences alone.
    everything = await classify(client, sentences=ARTICLE_SENTENCES[:4] + ARTICLE_SENTENCES[6:], targets=["Russland"])
    assert everything["documents"][0]["summary"] == doc["summary"]


async def test_summary_keeps_its_shape_without_reporting_sentences(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    answer = await classify(client, text="Mehr: Russland", targets=["Russland"])
    summary = answer["documents"][0]["summary"]
    assert summary["sentences"] == 0
    assert summary["sentiment"] == dict.fromkeys(tiny_model.labels("sentiment"), 0)
    assert [t["target"] for t in summary["stance"]] == ["Russland"]
    assert summary["stance"][0]["counts"] == dict.fromkeys(tiny_model.labels("stance"), 0)
    assert (summary["stance"][0]["sentences"], summary["stance"][0]["label"]) == (0, None)
    assert summary["stance"][0]["mean_scores"] is None


# -- explanations ---------------------------------------------------------------------------------------------


def contributions(tiny: TinyModel, head: str, text: str, target: str | None, label: str) -> dict[str, float]:
    """Every feature's value × coefficient toward `label`, recomputed from the model's own pipeline."""
    pipeline = tiny.model.heads[head]
    features = pipeline[:-1].transform([(text, target)]).tocsr()
    names = pipeline[:-1].get_feature_names_out()
    clf = pipeline[-1]
    classes = [str(c) for c in clf.classes_]
    assert clf.coef_.shape[0] == len(classes)  # multinomial: one coefficient row per label
    coef = clf.coef_[classes.index(label)]
    return {str(names[j]): float(v * coef[j]) for j, v in zip(features.indices, features.data, strict=True)}


def assert_exact_explanation(decision: dict[str, Any], expected: dict[str, float], k: int) -> None:
    explanation = decision["explanation"]
    assert 0 < len(explanation) <= k
    weights = [f["weight"] for f in explanation]
    assert all(w > 0 for w in weights)
    assert weights == sorted(weights, reverse=True)
    for f in explanation:
        assert f["weight"] == pytest.approx(expected[f"{f['view']}__{f['feature']}"], abs=1e-6)
    top = sorted((w for w in expected.values() if w > 0), reverse=True)[:k]
    assert weights == pytest.approx(top, abs=1e-6)


async def test_explain_gives_exact_top_k_contributions(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    text = "Die Regierung hat die Warnungen vor Russland monatelang ignoriert."
    answer = await classify(client, sentences=[text], targets=["Russland"], explain=3)
    [sentence] = answer["documents"][0]["sentences"]
    sentiment = sentence["sentiment"]
    assert_exact_explanation(sentiment, contributions(tiny_model, "sentiment", text, None, sentiment["label"]), 3)
    [stance] = sentence["stance"]
    assert_exact_explanation(stance, contributions(tiny_model, "stance", text, "Russland", stance["label"]), 3)


async def test_explain_on_every_decision_of_an_article(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    answer = await classify(client, text=ARTICLE, targets=["Russland", "Nordkorea"], explain=2)
    explained = 0
    for s in answer["documents"][0]["sentences"]:
        for decision in [s["sentiment"], *s["stance"]]:
            if decision["label"] is None:  # no stance, nothing to explain
                assert decision["explanation"] is None
                continue
            explained += 1
            assert len(decision["explanation"]) <= 2
            assert all(f["weight"] > 0 and f["feature"] and f["view"] for f in decision["explanation"])
            # each feature names the words of this sentence it came from (n-gram, char n-gram's word, lexicon words)
            assert all(f["words"] and all(w in s["text"] for w in f["words"]) for f in decision["explanation"])
    assert explained > len(answer["documents"][0]["sentences"])  # the stance decisions too


async def test_explanations_of_alias_mentions_read_around_the_alias(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    text = "Der Kreml wies die Vorwürfe der Regierung scharf zurück."
    answer = await classify(client, sentences=[text], targets=[RUSSLAND], explain=20)
    [stance] = answer["documents"][0]["sentences"][0]["stance"]
    context = {f["feature"] for f in stance["explanation"] if f["view"] == "context"}
    assert context and all(word.startswith(("l_", "r_")) and "kreml" not in word for word in context)


async def test_without_explain_there_is_no_explanation(client: httpx.AsyncClient) -> None:
    answer = await classify(client, sentences=["Der Euro legte zu."], targets=["Euro"])
    sentence = answer["documents"][0]["sentences"][0]
    assert sentence["sentiment"]["explanation"] is None
    assert sentence["stance"][0]["explanation"] is None


# -- robustness: odd input is scored, never fatal -------------------------------------------------------------

ODD_TEXTS = {
    "control characters": "Die Regierung\x07 hat\x1b[31m entschieden.\x0b Neue\x08 Zeile\x7f mit \x85 Umbruch.",
    "null bytes": "Null\x00Byte mitten im Text. \x00\x00 Und am Ende\x00",
    "emoji": "Die Börse 📈 steigt 🚀🚀. Anleger jubeln 🎉🇩🇪 👩‍👩‍👧.",
    "20,000 chars without punctuation": " ".join(["Wort"] * 4000),
    "20,000 chars without whitespace": "x" * 20_000,
    "mixed languages": (
        "Putin said the talks were productive. Путин заявил, что переговоры были продуктивными. "
        "普京表示会谈富有成效。 قال بوتين إن المحادثات كانت مثمرة. Die Gespräche seien produktiv gewesen."
    ),
    "CRLF and Unicode line breaks": "Erste Zeile\r\nZweite Zeile.\rDritte\u2028Vierte\u2029Fünfte.",
    "zero-width and bidi marks": "\u200bRussland\u200d greift an\u202e. \ufeffDie Ukraine\u2066 wehrt sich.",
    "decomposed Hangul": "\u1100\u1161\u11a8 ist ein Wort. Noch ein Satz.",
    "markup and entities": "<p>Müller &amp; Söhne&nbsp;GmbH</p><br/>< /p>Ein Satz &#8222;zitiert&#8220;.",
    "only punctuation": "... !!! ??? --- ;;;",
}


@pytest.mark.parametrize("text", ODD_TEXTS.values(), ids=ODD_TEXTS.keys())
async def test_odd_text_is_scored(client: httpx.AsyncClient, tiny_model: TinyModel, text: str) -> None:
    answer = await classify(client, text=text, targets=["Russland"], explain=2)
    assert answer["model_version"] == tiny_model.version
    assert_document(answer["documents"][0], text, tiny_model, ["Russland"])


@pytest.mark.parametrize("text", ODD_TEXTS.values(), ids=ODD_TEXTS.keys())
async def test_odd_sentence_is_scored(client: httpx.AsyncClient, tiny_model: TinyModel, text: str) -> None:
    answer = await classify(client, sentences=[text, "Ein normaler Satz."], targets=["Russland"])
    [doc] = answer["documents"]
    assert len(doc["sentences"]) == 2
    first = doc["sentences"][0]
    assert text[first["start"] : first["end"]] == first["text"]
    assert_document(doc, None, tiny_model, ["Russland"])


async def test_escaped_control_characters_in_raw_json(client: httpx.AsyncClient) -> None:
    """JSON escapes of NUL and other controls, sent byte for byte as a client library would."""
    body = json.dumps({"text": "A\u0000B\u0001C. Ein \u001f Satz."}).encode()
    response = await client.post("/v1/classify", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
