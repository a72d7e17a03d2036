"""Detection of non-reporting lines in scraped news (player notices, link lines, credits, ...).

Such lines carry no stance towards the article's topic but do carry loaded words ("Kontakt",
"Angst", agency names) that skew a bag-of-words classifier, so the service skips them.  The rules
are deliberately narrow: a flagged reporting sentence silently disappears from the analysis,
which is worse than an unflagged notice.  Most rules are therefore anchored to the start or end
of the sentence and/or limited to short sentences; words such as "Anzeige" or "Werbung" are only
flagged when they stand alone, because "Anzeige erstatten" is news.
"""

from __future__ import annotations

import re

__all__ = ["boilerplate_reason", "is_boilerplate"]

# Photo/news agencies and stock sites that appear in image credits.
_AGENCY = (
    r"(?:dpa|AFP|AP|APA|Reuters|EPA|Getty(?:\s*Images)?|imago(?:\s*images)?|"
    r"picture[\s-]alliance|Keystone|SDA|ddp|KNA|epd|Xinhua|Shutterstock|iStock(?:photo)?|"
    r"AAP|ANP|EFE|ANSA|TASS|Sputnik|PA|Bloomberg|Corbis|Fotolia|Unsplash|Pixabay|"
    r"Wikimedia|Wikipedia|privat|Archiv|Screenshot|Symbolbild)"
)
# Words that introduce an image credit or caption source (not "Quelle": "(Quelle: AMS)" cites a
# statistic inside a reporting sentence).
_CREDIT_LABEL = r"(?:Fotos?|Bild(?:er)?|Grafik|Illustration|Video|Bildquelle|Bildnachweis|Credits?|Symbolbild)"
# Text without a sentence boundary (a full stop etc. followed by whitespace), i.e. one phrase.
_ONE_PHRASE = r"^(?:[^.!?]|[.!?](?=\S))*"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_SHARE_WORD = (
    r"(?:Teilen|Artikel teilen|Beitrag teilen|Link kopieren|Drucken|Twittern|Tweet|Facebook|"
    r"WhatsApp|E-Mail|Mail|Messenger|Pinterest|LinkedIn|Xing|Telegram|Flipboard|Reddit|Pocket|"
    r"Kommentare?|Merken|Teilen auf \w+)"
)

_I = re.IGNORECASE

# (name, pattern, longest sentence the rule may flag)
_RULES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    # Video player fallback text ("Um dieses Video anzusehen, aktivieren Sie bitte JavaScript
    # ...") - page chrome, never article content.
    (
        "video_notice",
        re.compile(
            r"aktivieren Sie (?:bitte )?JavaScript|JavaScript (?:ist )?(?:deaktiviert|aktivieren)"
            r"|Um dieses Video (?:anzusehen|abzuspielen|zu sehen)|HTML5[- ]Videos? unterstützt"
            r"|(?:please )?enable JavaScript|Ihr Browser unterstützt (?:kein|dieses|das) ",
            _I,
        ),
        400,
    ),
    # Link/teaser lines introducing related articles ("Mehr: Russland", "Lesen Sie auch: ...");
    # "Mehr" needs the colon, since "Mehr als 100 Menschen ..." is reporting.
    (
        "link_line",
        re.compile(
            r"^(?:Mehr|Mehr (?:zum Thema|dazu|Infos?|Informationen|Nachrichten|Artikel)"
            r"|Lesen Sie (?:auch|mehr|hier|weiter)|Auch interessant|Ebenfalls interessant"
            r"|Das könnte Sie (?:auch )?interessieren|Weitere (?:Artikel|Infos?|Informationen|"
            r"Nachrichten|Meldungen|Themen)|Siehe auch|Zum (?:Artikel|Thema)|Passend zum Thema"
            r"|Verwandte (?:Artikel|Themen)|Hier geht'?s zu\w*|Zum Weiterlesen|Top-Artikel)"
            r"\s*(?::|»|›|>|\||$)"
        ),
        200,
    ),
    # "Lesen Sie auch den Kommentar von ..." - a second-person reading prompt even without colon.
    ("read_prompt", re.compile(r"^Lesen Sie (?:auch|mehr|hier|weiter)\b"), 200),
    # A bare link text left over from a teaser ("Weiterlesen", "Mehr lesen »"); capitalised
    # "Weiterlesen" at the very end is link text, "er will weiterlesen." is not.
    (
        "link_text",
        re.compile(
            r"(?:^(?:Mehr lesen|Artikel lesen|Mehr anzeigen|Alle Artikel|Zur Startseite|Nach oben)"
            r"|\bWeiterlesen)\s*[.…»›>]*\s*$"
        ),
        300,
    ),
    # Contact boxes: "Kontakt: ...", "Nehmen Sie Kontakt mit unserem Nachrichtenteam auf ...",
    # "Schreiben Sie uns eine E-Mail an ...". Second person "Sie" addresses the reader.
    (
        "contact",
        re.compile(
            r"^Kontakt\s*:|\b(?:Nehmen|Treten) Sie\b[^.!?]{0,80}\bKontakt\b"
            r"|\b(?:Schreiben|Senden|Schicken|Mailen) Sie (?:uns|der Redaktion)\b"
            r"|\b(?:Schreiben|Senden|Schicken) Sie [^.!?]{0,40}E-?Mail an\s+" + _EMAIL
        ),
        400,
    ),
    # A line that is nothing but an e-mail address (optionally labelled) is a contact footer.
    ("email_only", re.compile(r"^(?:(?:E-?Mail|Mail|Kontakt)\s*:?\s*)?" + _EMAIL + r"\s*\.?$", _I), 200),
    # Image caption ending in a parenthesised credit: "... (Bild: AFP)", or the bare credit.  Only
    # a single phrase: in "Er sagte X.. Probenröhrchen (Foto: AFP)." the reporting part must
    # survive, as must "(Foto: Stadt Wels) Etwa 800 Teilnehmer zählte ...".
    (
        "caption_credit",
        re.compile(_ONE_PHRASE + r"\(\s*" + _CREDIT_LABEL + r"\s*:\s*[^()]{1,80}\)\s*\.?\s*$"),
        400,
    ),
    # A bare agency/editor tag left as its own sentence: "(APA)", "(dpa/AFP)", "(red)".
    (
        "agency_tag",
        re.compile(r"^\(\s*(?:" + _AGENCY + r"|red)(?:\s*[/,;]\s*(?:" + _AGENCY + r"|red))*\s*\)\.?$", _I),
        60,
    ),
    # Bare credit line: "Foto: dpa", "Bildquelle: Getty Images", "Quelle: APA" (short, no
    # sentence punctuation inside, so "Bild: Politiker packen nicht mit an?" is not caught).
    (
        "credit_line",
        re.compile(r"^(?:" + _CREDIT_LABEL + r"|Quelle)\s*:\s*[^.!?]{1,80}\.?$"),
        100,
    ),
    # Credit at the end of a caption without parentheses: "Merkel in Berlin Foto: dpa/Kappeler".
    (
        "trailing_credit",
        re.compile(_ONE_PHRASE + r"\b" + _CREDIT_LABEL + r"\s*:\s*" + _AGENCY + r"\b[^.!?]{0,50}\.?$"),
        300,
    ),
    # Copyright credits ("© Reuters", "Foto: Frank Rumpenhorst © DPA", "(c) 2023 dpa"); only when
    # nothing but a short phrase precedes the sign, as scrapers glue credits to real sentences.
    # "(c)" needs a year/"by"/agency after it: "(c) Die Regierung muss ..." is an enumeration.
    (
        "copyright",
        re.compile(
            r"^(?:[^.!?]|[.!?](?=\S)){0,80}©[^!?]{0,80}$|^\(c\)\s*(?:\d{4}\b|by\b|" + _AGENCY + r"\b)"
            r"|^Alle Rechte vorbehalten\b",
            _I,
        ),
        200,
    ),
    # Newsletter, subscription and paywall prompts addressed to the reader.
    (
        "subscribe_prompt",
        re.compile(
            r"\bNewsletter\b[^.!?]{0,40}\b(?:abonnieren|bestellen|anmelden)\b"
            r"|\b(?:Abonnieren|Bestellen) Sie\b|^Jetzt (?:abonnieren|anmelden|registrieren|"
            r"kostenlos|gratis|testen|Abo|weiterlesen|teilen)\b"
            r"|^(?:Dieser|Der) (?:Artikel|Beitrag|Inhalt) ist (?:nur |exklusiv )?für (?:Abonnent|"
            r"registrierte)|^Sie haben bereits ein (?:Abo|Abonnement|Konto)"
        ),
        300,
    ),
    # Cookie banners: only the banner phrasing, since cookie *regulation* is news.
    (
        "cookie_banner",
        re.compile(
            r"^(?:Wir verwenden|Diese (?:Website|Webseite|Seite) (?:verwendet|nutzt)) Cookies"
            r"|^(?:Alle )?Cookies? (?:akzeptieren|zulassen|ablehnen)\.?$|^Alle akzeptieren\.?$"
            r"|\bCookie-Einstellungen\b|Mit der Nutzung (?:dieser|unserer) (?:Website|Webseite|Seite)"
            r" (?:stimmen|erklären) Sie",
        ),
        300,
    ),
    # Ad labels standing alone ("Anzeige", "Werbung"); inside a sentence these words are news.
    (
        "ad_label",
        re.compile(
            r"^(?:Anzeige|Werbung|Sponsored|Gesponsert|Advertorial|Promotion|Paid Content)"
            r"\s*[:.-]?\s*$",
            _I,
        ),
        40,
    ),
    # Share bars ("Teilen | Twittern | E-Mail") and share prompts ("Teilen Sie diesen Artikel").
    (
        "share",
        re.compile(
            r"^" + _SHARE_WORD + r"(?:\s*[|/·•,]?\s*" + _SHARE_WORD + r")*\s*$"
            r"|\bTeilen Sie (?:diesen|den|diese|dieses) (?:Artikel|Beitrag|Seite|Video|Link)\b"
            r"|^(?:Auf|Bei|Via|Per) (?:Facebook|Twitter|X|WhatsApp|LinkedIn|E-Mail|Mail)"
            r" (?:teilen|versenden|empfehlen)\s*$"
        ),
        200,
    ),
)


def boilerplate_reason(sentence: str) -> str | None:
    """Name of the first rule that flags ``sentence`` (useful to audit false positives)."""
    text = " ".join(sentence.split())
    if not text:
        return None
    for name, pattern, max_len in _RULES:
        if len(text) <= max_len and pattern.search(text):
            return name
    return None


def is_boilerplate(sentence: str) -> bool:
    """Whether ``sentence`` is page furniture rather than reporting."""
    return boilerplate_reason(sentence) is not None
