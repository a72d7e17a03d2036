"""Boilerplate rules: every kind of page furniture is caught, reporting sentences never are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.boilerplate import boilerplate_reason, is_boilerplate

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "kim_putin_waffendeal.txt"


def test_reference_article_lines() -> None:
    """Exactly the video notice, the caption, the link line and the contact line are flagged."""
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    flagged = [line for line in lines if is_boilerplate(line)]
    assert flagged == [
        "Um dieses Video anzusehen, aktivieren Sie bitte JavaScript und erwägen Sie ein Upgrade auf"
        " einen Webbrowser, der HTML5-Videos unterstützt.",
        "Ein beschädigtes Auto mit dem Buchstaben Z, dem Symbol der russischen Streitkräfte (Bild: AFP)",
        "Mehr: Russland",
        "Nehmen Sie Kontakt mit unserem Nachrichtenteam auf, indem Sie uns eine E-Mail an webnews@metro.co.uk senden.",
    ]


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Um dieses Video anzusehen, aktivieren Sie bitte JavaScript.", "video_notice"),
        ("To view this video please enable JavaScript", "video_notice"),
        ("Mehr: Russland", "link_line"),
        ("Mehr zum Thema: Der Krieg in der Ukraine", "link_line"),
        ("Lesen Sie auch: Putin droht dem Westen", "link_line"),
        ("Lesen Sie auch Kommentar : Scholz muss jetzt nach Kiew reisen", "read_prompt"),
        ("Siehe auch: Asylpolitik der EU", "link_line"),
        ("Weiterlesen", "link_text"),
        ("Der Kanzler äußerte sich nicht. Weiterlesen »", "link_text"),
        ("Kontakt: redaktion@example.de", "contact"),
        ("Nehmen Sie Kontakt mit unserem Nachrichtenteam auf.", "contact"),
        ("Schreiben Sie uns eine E-Mail an leserbriefe@example.de.", "contact"),
        ("webnews@metro.co.uk", "email_only"),
        ("E-Mail: info@example.at", "email_only"),
        ("Merkel bei der Pressekonferenz in Berlin (Foto: dpa)", "caption_credit"),
        ("(Bild: AFP)", "caption_credit"),
        ("Foto: dpa", "credit_line"),
        ("Bildquelle: Getty Images", "credit_line"),
        ("Der Kanzler in Kiew Foto: Reuters/Valentyn Ogirenko", "trailing_credit"),
        ("© Reuters", "copyright"),
        ("Foto: Frank Rumpenhorst © DPA", "credit_line"),
        ("(APA)", "agency_tag"),
        ("(dpa/AFP)", "agency_tag"),
        ("Newsletter abonnieren", "subscribe_prompt"),
        ("Abonnieren Sie unseren Newsletter!", "subscribe_prompt"),
        ("Jetzt abonnieren und weiterlesen", "subscribe_prompt"),
        ("Wir verwenden Cookies, um Ihnen das beste Erlebnis zu bieten.", "cookie_banner"),
        ("Cookies akzeptieren", "cookie_banner"),
        ("Anzeige", "ad_label"),
        ("WERBUNG", "ad_label"),
        ("Teilen | Twittern | E-Mail", "share"),
        ("Teilen Sie diesen Artikel mit Ihren Freunden", "share"),
        ("Auf Facebook teilen", "share"),
    ],
)
def test_flags_boilerplate(sentence: str, reason: str) -> None:
    assert boilerplate_reason(sentence) == reason
    assert is_boilerplate(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Mehr als 100 Menschen starben bei dem Angriff.",
        "Mehr Geld für die Bundeswehr fordert die Union.",
        "Die Polizei erstattete Anzeige gegen den Fahrer.",
        "Wenn jeder auf eigene Faust Werbung macht, kann man sich nicht objektiv informieren.",
        "Der Kontakt zur Raumsonde brach am Montag ab.",
        "Man sei bereits in Kontakt mit der Staatsanwaltschaft, so Doskozil.",
        "Das Video zeigt, wie der Panzer getroffen wird.",
        "Er teilte auf Facebook ein Foto des Treffens.",
        "Die Arbeitslosigkeit stieg um 3 Prozent (Quelle: AMS).",
        "Stimmt das Bild: Politiker packen nicht mit an?",
        "Die EU will, dass Websites Cookies nur mit Zustimmung der Nutzer verwenden.",
        "Er will das Buch zu Ende weiterlesen.",
        "Kims Zug erreichte Wladiwostok am Dienstag.",
        "Anzeige gegen unbekannt: Die Ermittlungen laufen.",
        # a caption glued to a reporting sentence: the reporting part must survive
        "Die Sonde bohrte ein Loch in den Stein.. Probenröhrchen mit Gesteinsprobe (Foto: AFP).",
        "Die Zahl stieg auf 125.521.. © dpa-infocom, dpa:220312-99-487995/2",
        "(Foto: Stadt Wels) Etwa 800 Teilnehmer zählte die Aktion heuer.",
        "",
        "   ",
    ],
)
def test_keeps_reporting(sentence: str) -> None:
    assert boilerplate_reason(sentence) is None


def test_long_sentence_is_never_a_short_label() -> None:
    long_reporting = "Anzeige " + "und weitere Worte " * 30
    assert not is_boilerplate(long_reporting)


@pytest.mark.shared_data
def test_false_positives_on_real_news_sentences(shared_data: Path) -> None:
    """GerNTSA units are real scraped news sentences (DE/AT/CH outlets); the few flagged ones are
    "Lesen Sie auch ..." teasers of other articles.  (The 1028 10kGNAD articles are checked
    through the segmenter in test_segmentation.)"""
    units = []
    for split in ("train", "dev"):
        with (shared_data / "gerntsa" / f"{split}.jsonl").open(encoding="utf-8") as fh:
            units.extend(json.loads(line)["text"] for line in fh)
    flagged = [u for u in units if is_boilerplate(u)]
    assert len(flagged) <= len(units) // 200, flagged
