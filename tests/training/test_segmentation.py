"""Sentence segmentation with the real SoMaJo (no mocks) on the scraped reference article,
hand-made edge cases and, with ../shared/data present, all 1028 10kGNAD news articles."""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pytest

from training.boilerplate import boilerplate_reason
from training.segmentation import MAX_SENTENCE_CHARS, Segmenter, Sentence

CLOSING_P = re.compile(r"<\s*/\s*p\s*>", re.IGNORECASE)
REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "kim_putin_waffendeal.txt"

# (prefix, suffix) of every sentence of the reference article, in order.
EXPECTED_REFERENCE = [
    ("Einblick in Kims und Putins ", "Gipfel bedeuten könnte"),
    ("Wladimir Putin hat sich an e", "er Sicherheitsbeamter."),
    ("Es gibt viele Anzeichen dafü", "Invasion fortzusetzen."),
    ("Ein Treffen zwischen Kim Jon", "hten Kampf“ versprach."),
    ("Ivan Stupak, ein ehemaliger ", "ionen aussehen könnte."),
    ("Um dieses Video anzusehen, a", "L5-Videos unterstützt."),
    ("Er betonte, dass Russland ni", "rea reichlich verfügt."),
    ("Auf der Liste stehen Projekt", "affen und Mörserminen."),
    ("Herr Stupak fügte hinzu, das", "nsporter (APCs) suche."),
    ("Schätzungen zufolge verfügt ", "ieb verleihen könnten."),
    ("Diese könnten währenddessen ", "erschöpften Beständen."),
    ("'Russland gehen mit Sicherhe", "erheit die Waffen aus."),
    ("„Schlüsselausrüstung wurde v", "t“, sagte Herr Stupak."),
    ("„Zum Beispiel feuerte Russla", "0.000 abfeuern konnte."),
    ("Es ist unser Maximum.", "Es ist unser Maximum."),
    ("'Russland muss seine Vorräte", " Stadt zerstören will."),
    ("Ein beschädigtes Auto mit de", "reitkräfte (Bild: AFP)"),
    ("„Russland will auch eine eig", "und Lyman durchführen."),
    ("Sie werden alle zusätzlichen", "chen Waffen brauchen.'"),
    ("Spekulationen über eine mili", "li Nordkorea besuchte."),
    ("Herr Stupak betonte, dass zu", "en abschließen sollte."),
    ("Der Führer hat nicht offen ü", "Prüfung und Angst ist."),
    ("Mehr: Russland", "Mehr: Russland"),
    ("In Kim Jong-uns kugelsichere", "Festung“ voller Hummer"),
    ("Kim Jong-un wird bei seiner ", "oten Teppich behandelt"),
    ("Putin richtet eine „ernsthaf", " in der Ukraine nicht."),
    ("Unterdessen sagte Herr Stupa", "d Nahrungsmitteln her."),
    ("'Russland hat etwa 120 Sucho", " etwa 10 % Nordkorea.'"),
    ("Nehmen Sie Kontakt mit unser", "ws@metro.co.uk senden."),
]
REFERENCE_BOILERPLATE = {5, 16, 22, 28}  # video notice, caption, "Mehr: Russland", contact


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter()


@pytest.fixture(scope="module")
def reference() -> str:
    return REFERENCE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reference_sentences(segmenter: Segmenter, reference: str) -> list[Sentence]:
    return segmenter.split(reference)


def texts(sentences: Sequence[Sentence]) -> list[str]:
    return [s.text for s in sentences]


def assert_well_formed(text: str, sentences: Sequence[Sentence]) -> None:
    """Invariants of every split: exact offsets, in order, non-empty, trimmed, capped."""
    previous_end = 0
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert previous_end <= s.start < s.end
        assert s.text == s.text.strip()
        assert len(s.text) <= MAX_SENTENCE_CHARS
        previous_end = s.end


def containing(sentences: Sequence[Sentence], needle: str) -> list[Sentence]:
    return [s for s in sentences if needle in s.text]


# -- reference article ---------------------------------------------------------------------


def test_reference_sentence_list(reference: str, reference_sentences: list[Sentence]) -> None:
    assert len(reference_sentences) == len(EXPECTED_REFERENCE) == 29
    assert_well_formed(reference, reference_sentences)
    for sentence, (prefix, suffix) in zip(reference_sentences, EXPECTED_REFERENCE, strict=True):
        assert sentence.text.startswith(prefix)
        assert sentence.text.endswith(suffix)


def test_reference_headline_is_first_sentence(reference: str, reference_sentences: list[Sentence]) -> None:
    headline = reference.splitlines()[0]
    assert reference_sentences[0].text == headline
    assert (reference_sentences[0].start, reference_sentences[0].end) == (0, len(headline))


def test_reference_no_sentence_crosses_a_line(reference: str, reference_sentences: list[Sentence]) -> None:
    assert all("\n" not in s.text for s in reference_sentences)
    # every line that is not pure markup yields at least one sentence
    line_starts = {0} | {i + 1 for i, ch in enumerate(reference) if ch == "\n"}
    assert line_starts <= {s.start for s in reference_sentences} | {len(reference)}


def test_reference_html_remnant_is_cut_off(reference: str, reference_sentences: list[Sentence]) -> None:
    assert "< /p>" in reference
    assert not containing(reference_sentences, "< /p>")
    assert not any("<" in s.text or ">" in s.text for s in reference_sentences)
    assert reference_sentences[1].text.endswith("warnte ein ehemaliger Sicherheitsbeamter.")


@pytest.mark.parametrize("needle", ["70.000", "122-mm", "Herr Stupak fügte", "webnews@metro.co.uk", "(APCs)", "10 %"])
def test_reference_tokens_are_not_split(reference_sentences: list[Sentence], needle: str) -> None:
    assert len(containing(reference_sentences, needle)) == 1


def test_reference_quotes(reference_sentences: list[Sentence]) -> None:
    # '…' and „…“ spanning two sentences: split at the inner full stop, quotes stay attached
    assert texts(reference_sentences)[11:15] == [
        "'Russland gehen mit Sicherheit die Waffen aus.",
        "„Schlüsselausrüstung wurde von der ukrainischen Armee mit von Großbritannien gespendeten"
        " Storm Shadow-Raketen zerstört“, sagte Herr Stupak.",
        "„Zum Beispiel feuerte Russland im Jahr 2022 täglich 70.000 Raketen ab, während die"
        " Ukraine nur etwa 10.000 abfeuern konnte.",
        "Es ist unser Maximum.",
    ]


def test_reference_missing_full_stop_is_not_split(reference_sentences: list[Sentence]) -> None:
    """SoMaJo needs sentence punctuation; the scraping error stays one (documented) sentence."""
    [sentence] = containing(reference_sentences, "eingesetzt werden Die russische Armee")
    assert sentence.text.startswith("Diese könnten")
    assert sentence.text.endswith("kämpft mit erschöpften Beständen.")


def test_reference_boilerplate_flags(reference_sentences: list[Sentence]) -> None:
    flagged = {i for i, s in enumerate(reference_sentences) if s.boilerplate}
    assert flagged == REFERENCE_BOILERPLATE
    assert reference_sentences[5].text.startswith("Um dieses Video anzusehen")
    assert reference_sentences[16].text.endswith("(Bild: AFP)")
    assert reference_sentences[22].text == "Mehr: Russland"
    assert "webnews@metro.co.uk" in reference_sentences[28].text


# -- abbreviations, quotes, numbers, e-mail, headlines -------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Herr Dr. Müller kam z. B. am 3. Oktober um 10 Uhr. Er ging.",
            ["Herr Dr. Müller kam z. B. am 3. Oktober um 10 Uhr.", "Er ging."],
        ),
        (
            "Ca. 5 Mio. Menschen sind betroffen, u. a. in der Ostukraine. Das sagte Prof. Weber.",
            [
                "Ca. 5 Mio. Menschen sind betroffen, u. a. in der Ostukraine.",
                "Das sagte Prof. Weber.",
            ],
        ),
        (
            "Laut Art. 5 Abs. 1 GG bzw. Nr. 3 gilt das. Fertig.",
            ["Laut Art. 5 Abs. 1 GG bzw. Nr. 3 gilt das.", "Fertig."],
        ),
    ],
)
def test_abbreviations(segmenter: Segmenter, text: str, expected: list[str]) -> None:
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Er sagte: „Wir liefern Granaten.“ Dann ging er.",
            ["Er sagte: „Wir liefern Granaten.“", "Dann ging er."],
        ),
        (
            "„Das ist falsch“, sagte sie. „Punkt.“",
            ["„Das ist falsch“, sagte sie.", "„Punkt.“"],
        ),
        (
            # SoMaJo puts the closing ' at the start of the next sentence; it is moved back
            "Er sagte 'Nein.' Sie sagte „Ja!“ und ging.",
            ["Er sagte 'Nein.'", "Sie sagte „Ja!“ und ging."],
        ),
        (
            "»Wir bleiben«, sagte er. »Ganz sicher.«",
            ["»Wir bleiben«, sagte er.", "»Ganz sicher.«"],
        ),
    ],
)
def test_quotes(segmenter: Segmenter, text: str, expected: list[str]) -> None:
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == expected


def test_numbers(segmenter: Segmenter) -> None:
    text = (
        "Russland feuerte 70.000 Raketen ab. Der Umsatz stieg um 3,5 Prozent auf 1.234,56 Euro. "
        "Am 3. Oktober 2023 kam ein 122-mm-Geschütz. Es war der 2. Versuch."
    )
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == [
        "Russland feuerte 70.000 Raketen ab.",
        "Der Umsatz stieg um 3,5 Prozent auf 1.234,56 Euro.",
        "Am 3. Oktober 2023 kam ein 122-mm-Geschütz.",
        "Es war der 2. Versuch.",
    ]


def test_email_addresses(segmenter: Segmenter) -> None:
    text = "Schreiben Sie an max.mustermann@example.de oder info@x.co.at. Danke!"
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == [
        "Schreiben Sie an max.mustermann@example.de oder info@x.co.at.",
        "Danke!",
    ]


def test_headline_without_full_stop(segmenter: Segmenter) -> None:
    text = "Kim trifft Putin in Wladiwostok\nDer Gipfel endete am Mittwoch. Beide lächelten."
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == [
        "Kim trifft Putin in Wladiwostok",
        "Der Gipfel endete am Mittwoch.",
        "Beide lächelten.",
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x0c"])
def test_every_line_break_is_a_boundary(segmenter: Segmenter, newline: str) -> None:
    text = newline.join(["Überschrift ohne Punkt", "Erster Absatz", "", "Zweiter Absatz"])
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == ["Überschrift ohne Punkt", "Erster Absatz", "Zweiter Absatz"]


# -- HTML remnants -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Er warnte.< /p>", ["Er warnte."]),
        ("<p>Erster Satz.</p><p>Zweiter Satz.</p>", ["Erster Satz.", "Zweiter Satz."]),
        ("Erste Zeile<br/>zweite Zeile.", ["Erste Zeile", "zweite Zeile."]),
        ("Erste Zeile<br />zweite Zeile<BR>", ["Erste Zeile", "zweite Zeile"]),
        (
            'Laut <a href="https://example.org/x?a=1&amp;b=2" class="l">Bericht</a> stimmt das.',
            ["Laut", "Bericht", "stimmt das."],
        ),
        ("Vorher<!-- Kommentar. -->nachher.", ["Vorher", "nachher."]),
        ("Text. <script>var x = 1; alert('Hallo.');</script>Ende.", ["Text.", "Ende."]),
        ("&nbsp;Satz eins.&nbsp;Satz zwei.&nbsp;", ["Satz eins.", "Satz zwei."]),
        # entities encode one character: trimmed at the edges, kept inside a sentence
        (
            "Die Firma Müller &amp; Söhne wächst. Preis: 5&nbsp;€.",
            ["Die Firma Müller &amp; Söhne wächst.", "Preis: 5&nbsp;€."],
        ),
        ("&#8222;Ja&#8220;, sagte er.", ["Ja&#8220;, sagte er."]),
        ("<p>\n</p>\n&nbsp;\n<br/>\n< /p>", []),
    ],
)
def test_html_remnants(segmenter: Segmenter, text: str, expected: list[str]) -> None:
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == expected


def test_no_tag_in_any_sentence(segmenter: Segmenter) -> None:
    text = "<div><h1>Titel</h1><p>Ein Satz mit <b>fett</b> und<br/>Umbruch.< /p></div>"
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == ["Titel", "Ein Satz mit", "fett", "und", "Umbruch."]


# -- robustness ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\n\n", " \t\r\n ", "\x00", "<p></p>", "&nbsp;", "…", "„“"])
def test_nothing_to_split(segmenter: Segmenter, text: str) -> None:
    assert segmenter.split(text) == []


def test_control_characters_and_null_bytes(segmenter: Segmenter) -> None:
    text = "\x00Hallo\x00Welt.\x07 Zweiter\x1b Satz.\x00\x01"
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == ["Hallo\x00Welt.", "Zweiter\x1b Satz."]


def test_emoji(segmenter: Segmenter) -> None:
    text = "Super Gipfel 😀👍🏽! Die Flagge 🇩🇪 weht. 🎉🎉"
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert sentences[0].text == "Super Gipfel 😀👍🏽!"
    assert "".join(texts(sentences)).replace(" ", "") == text.replace(" ", "")


def test_lone_surrogate_and_combining_characters(segmenter: Segmenter) -> None:
    text = "\ud83d Kaputt. Cafe\u0301 und Me\u0301tro sind offen. Ende."
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences) == ["Kaputt.", "Cafe\u0301 und Me\u0301tro sind offen.", "Ende."]


def test_long_run_without_punctuation_is_capped_at_whitespace(segmenter: Segmenter) -> None:
    text = " ".join(f"wort{i}" for i in range(3000))  # ~23,000 chars, no punctuation
    assert len(text) > 20_000
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert len(sentences) > 20
    # cut only at whitespace: every word survives whole, in order
    assert " ".join(texts(sentences)).split() == text.split()


def test_long_run_without_whitespace_is_hard_cut(segmenter: Segmenter) -> None:
    text = "x" * 20_000
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert [len(s.text) for s in sentences] == [MAX_SENTENCE_CHARS] * 20


def test_mixed_languages(segmenter: Segmenter) -> None:
    text = "Das ist gut. This is an English sentence. C'est la vie! Это русский текст. 这是中文。 مرحبا بالعالم."
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert texts(sentences)[:3] == ["Das ist gut.", "This is an English sentence.", "C'est la vie!"]
    assert "".join(texts(sentences)).replace(" ", "") == text.replace(" ", "")


def test_script_somajo_cannot_align_falls_back(segmenter: Segmenter) -> None:
    """Decomposed Hangul makes SoMaJo's NFC alignment assert; the line fallback still splits."""
    korean = unicodedata.normalize("NFD", "한국어 문장입니다. 두 번째 문장입니다.")
    text = f"Erster Satz. Zweiter Satz.\n{korean}"
    sentences = segmenter.split(text)
    assert_well_formed(text, sentences)
    assert len(sentences) == 4
    assert texts(sentences)[:2] == ["Erster Satz.", "Zweiter Satz."]


def test_garbage_does_not_crash(segmenter: Segmenter) -> None:
    text = "".join(chr(c) for c in range(0, 0x3000, 7)) + "<<<>>>&&&;;; < /p >" * 50
    assert_well_formed(text, segmenter.split(text))


# -- batch, pre-split input, threads -------------------------------------------------------


def test_split_many_equals_split(segmenter: Segmenter, reference: str) -> None:
    batch = [reference, "", "Kurz. Knapp.", "<p>Mehr: Russland</p>", reference[:500]]
    assert segmenter.split_many(batch) == [segmenter.split(t) for t in batch]
    assert segmenter.split_many([]) == []


def test_line_fallback_matches_batch_path(segmenter: Segmenter, reference: str) -> None:
    """The per-line path used when SoMaJo fails on a batch gives the same sentences."""
    from training.segmentation import _build, _Markup

    markup = _Markup(reference)
    spans = segmenter._spans_robust(markup.mask(reference))
    assert _build(reference, markup, spans) == segmenter.split(reference)


def test_from_sentences(segmenter: Segmenter) -> None:
    given = [
        "Wladimir Putin hat sich gewandt.< /p>",
        "  <p>Zwei Sätze. In einem Eintrag.</p> ",
        "Mehr: Russland",
        "A &amp; B",
        "<br/>",
        "",
    ]
    result = segmenter.from_sentences(given)
    assert len(result) == len(given)
    for s, sentence in zip(given, result, strict=True):
        assert s[sentence.start : sentence.end] == sentence.text
    assert texts(result) == [
        "Wladimir Putin hat sich gewandt.",
        "Zwei Sätze. In einem Eintrag.",
        "Mehr: Russland",
        "A &amp; B",
        "",
        "",
    ]
    assert [s.boilerplate for s in result] == [False, False, True, False, True, True]


def test_thread_safe(segmenter: Segmenter, reference: str) -> None:
    expected = segmenter.split(reference)
    results: list[list[Sentence]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(segmenter.split(reference))
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [expected] * 12


# -- all 10kGNAD news articles -------------------------------------------------------------


@pytest.mark.shared_data
def test_real_news_articles(segmenter: Segmenter, shared_data: Path) -> None:
    path = shared_data / "news_articles" / "10kgnad.jsonl"
    with path.open(encoding="utf-8") as fh:
        articles = [json.loads(line)["text"] for line in fh]
    assert len(articles) == 1028
    split = segmenter.split_many(articles)
    total = 0
    for text, sentences in zip(articles, split, strict=True):
        assert sentences, text[:80]
        assert_well_formed(text, sentences)
        for s in sentences:
            assert s.text.strip()
            assert not CLOSING_P.search(s.text)
        total += len(sentences)
    assert total > 20_000  # ~22 per article; far fewer would mean missed boundaries
    # derStandard text is clean: the only non-reporting sentences are bare agency tags ("(APA)")
    flagged = [s.text for doc in split for s in doc if s.boilerplate]
    assert all(boilerplate_reason(text) == "agency_tag" for text in flagged), flagged
    assert len(flagged) <= total // 1000
