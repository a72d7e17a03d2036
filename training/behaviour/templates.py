"""Template-generated behaviour cases: fillers × frames, written for Haltung (news German).

Every frame was chosen so that its label is not debatable under the starter corpus's guidelines
(training/corpus/DATA_CARD.md): reported stance counts ("X wirft Y Versagen vor" is against Y and
neutral toward X), harm is negative in tone, and a target merely located or reported on is neutral.
The hand-written cases are in handwritten.jsonl.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import cycle
from typing import Any

Row = dict[str, Any]

# Countries that take no article and are neuter ("seine Zusagen"), with their genitive.
COUNTRIES = ["Russland", "China", "Frankreich", "Polen", "Ungarn", "Japan", "Indien", "Brasilien", "Kanada", "Italien"]


def _gen(country: str) -> str:
    return country + "s"


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def mft(capability: str, text: str, target: Any = None, **expect: Any) -> Row:
    return {"capability": capability, "kind": "mft", "text": text, "target": target, "expect": expect}


def inv(capability: str, texts: list[str], target: Any = None, heads: tuple[str, ...] = ("stance",), **kw: Any) -> Row:
    return {
        "capability": capability,
        "kind": "inv",
        "texts": texts,
        "target": target,
        "expect": dict.fromkeys(heads, "same"),
        **kw,
    }


def direction(capability: str, base: str, variant: str, target: Any, head: str, label: str, change: str) -> Row:
    return {
        "capability": capability,
        "kind": "dir",
        "texts": [base, variant],
        "target": target,
        "expect": {head: {"label": label, "change": change}},
    }


NEGATION_STANCE = [
    ("{T} ist ein verlässlicher Partner.", "{T} ist kein verlässlicher Partner."),
    ("{T} hält sich an das Abkommen.", "{T} hält sich nicht an das Abkommen."),
    ("{T} hat seine Zusagen eingehalten.", "{T} hat seine Zusagen nicht eingehalten."),
    ("{T} verdient das Vertrauen seiner Nachbarn.", "{T} verdient das Vertrauen seiner Nachbarn nicht."),
    ("Auf {T} ist in dieser Frage Verlass.", "Auf {T} ist in dieser Frage kein Verlass."),
]
NEGATION_SENTIMENT = [
    ("Das Treffen der Außenminister war ein Erfolg.", "Das Treffen der Außenminister war kein Erfolg."),
    ("Die Verhandlungen brachten einen Durchbruch.", "Die Verhandlungen brachten keinen Durchbruch."),
    ("Die Reform hat sich in der Praxis bewährt.", "Die Reform hat sich in der Praxis nicht bewährt."),
    ("Die Verschütteten konnten gerettet werden.", "Die Verschütteten konnten nicht gerettet werden."),
    (
        "Die Mannschaft hat in der zweiten Halbzeit überzeugt.",
        "Die Mannschaft hat in der zweiten Halbzeit nicht überzeugt.",
    ),
    ("Die Versorgung der Flüchtlinge ist gesichert.", "Die Versorgung der Flüchtlinge ist nicht gesichert."),
    ("Eine Einigung im Tarifstreit ist gelungen.", "Eine Einigung im Tarifstreit ist nicht gelungen."),
    ("Die Rettungskräfte kamen rechtzeitig.", "Die Rettungskräfte kamen nicht rechtzeitig."),
    ("Der Impfstoff wirkt auch gegen die neue Variante.", "Der Impfstoff wirkt nicht gegen die neue Variante."),
    ("Das Unternehmen hat seine Gewinnziele erreicht.", "Das Unternehmen hat seine Gewinnziele nicht erreicht."),
    ("Das neue Stadion wurde rechtzeitig fertig.", "Das neue Stadion wurde nicht rechtzeitig fertig."),
]


def negation() -> Iterator[Row]:
    countries = cycle(COUNTRIES)
    for positive, negated in NEGATION_STANCE:
        for _ in range(4):
            t = next(countries)
            yield mft("negation", positive.format(T=t), t, stance="favor")
            yield mft("negation", negated.format(T=t), t, stance="against")
            yield direction("negation", positive.format(T=t), negated.format(T=t), t, "stance", "favor", "down")
    for positive, negated in NEGATION_SENTIMENT:
        yield mft("negation", positive, sentiment="positive")
        yield mft("negation", negated, sentiment="negative")
        yield direction("negation", positive, negated, None, "sentiment", "positive", "down")


CONTRAST_SUBJECTS = [
    ("Die Reform", "Reform"),
    ("Das Gesetz", "Gesetz"),
    ("Das Tempolimit", "Tempolimit"),
    ("Die Schuldenbremse", "Schuldenbremse"),
    ("Der Mindestlohn", "Mindestlohn"),
    ("Die Wehrpflicht", "Wehrpflicht"),
]
CONTRAST_FAVOR = [
    ("teuer", "dringend notwendig"),
    ("umstritten", "der richtige Weg"),
    ("unbequem", "längst überfällig"),
    ("nicht perfekt", "ein großer Fortschritt"),
]
CONTRAST_AGAINST = [
    ("gut gemeint", "schlecht gemacht"),
    ("populär", "wirtschaftlich unvernünftig"),
    ("im Ansatz richtig", "völlig unzureichend"),
    ("beliebt", "ein teurer Irrweg"),
]


def contrast() -> Iterator[Row]:
    for subject, target in CONTRAST_SUBJECTS:
        for pairs, label in ((CONTRAST_FAVOR, "favor"), (CONTRAST_AGAINST, "against")):
            for concession, main in pairs:
                yield mft("contrast", f"{subject} ist zwar {concession}, aber {main}.", target, stance=label)


SWAP_PAIRS = [("Frankreich", "Russland"), ("Polen", "Ungarn"), ("Japan", "China"), ("Kanada", "Indien")]
SWAP_FRAMES = [
    ("{A} kritisiert {B} scharf.", "against"),
    ("{A} wirft {B} Wortbruch vor.", "against"),
    ("{A} beschuldigt {B}, das Abkommen gebrochen zu haben.", "against"),
    ("{A} lobt {B} für die gute Zusammenarbeit.", "favor"),
    ("{A} dankt {B} für die schnelle Hilfe.", "favor"),
]


def target_swap() -> Iterator[Row]:
    for first, second in SWAP_PAIRS:
        for a, b in ((first, second), (second, first)):
            for frame, label in SWAP_FRAMES:
                text = frame.format(A=a, B=b)
                yield mft("target_swap", text, b, stance=label)
                yield mft("target_swap", text, a, stance=["neutral", None])


# (target, genitive phrase, dative phrase): institutions and offices, inflected in the text.
INFLECTED = [
    ("Kanzler", "des Kanzlers", "dem Kanzler"),
    ("Landrat", "des Landrats", "dem Landrat"),
    ("Ministerium", "des Ministeriums", "dem Ministerium"),
    ("Verein", "des Vereins", "dem Verein"),
    ("Konzern", "des Konzerns", "dem Konzern"),
    ("Bürgermeister", "des Bürgermeisters", "dem Bürgermeister"),
    ("Verband", "des Verbandes", "dem Verband"),
    ("Gewerkschaft", "der Gewerkschaften", "den Gewerkschaften"),
]
INFLECTION_FRAMES = [
    ("Die Entscheidung {G} stößt auf scharfe Kritik.", "against"),
    ("Das Versagen {G} hat die Krise verschärft.", "against"),
    ("Die schnelle Hilfe {G} verdient große Anerkennung.", "favor"),
    ("Der Einsatz {G} für die Flutopfer wurde allseits gelobt.", "favor"),
    ("Ein Sprecher {G} kündigte für Dienstag eine Erklärung an.", "neutral"),
    ("Kritiker werfen {D} Untätigkeit vor.", "against"),
    ("Die Anwohner danken {D} für die rasche Unterstützung.", "favor"),
]


def inflection() -> Iterator[Row]:
    for target, genitive, dative in INFLECTED:
        for frame, label in INFLECTION_FRAMES:
            text = frame.format(G=genitive, D=dative)
            yield mft("inflection", text, target, stance={"label": label, "via": "name"})


SPEAKERS = ["die Außenministerin", "der Regierungssprecher", "ein Sprecher der Opposition"]
CLAIMS = [  # indicative, Konjunktiv I, label
    ("{T} ist ein verlässlicher Partner", "{T} sei ein verlässlicher Partner", "favor"),
    ("{T} hat seine Zusagen gebrochen", "{T} habe seine Zusagen gebrochen", "against"),
    ("{T} hat in der Krise vorbildlich geholfen", "{T} habe in der Krise vorbildlich geholfen", "favor"),
    ("{T} gefährdet die Sicherheit der ganzen Region", "{T} gefährde die Sicherheit der ganzen Region", "against"),
]


def reported_speech() -> Iterator[Row]:
    countries, speakers = cycle(COUNTRIES[::-1]), cycle(SPEAKERS)
    for indicative, subjunctive, label in CLAIMS:
        for _ in range(3):
            t, speaker = next(countries), next(speakers)
            claim, konj = indicative.format(T=t), subjunctive.format(T=t)
            indirect, direct = f"{_cap(speaker)} sagte, {konj}.", f"„{claim}“, sagte {speaker}."
            forms = [indirect, direct, f"{_cap(speaker)} sagte: „{claim}.“"]
            for text in forms:
                yield mft("reported_speech", text, t, stance=label)
            yield inv("reported_speech", forms, t)


DISASTER_PLACES = [
    ("Italien", "in Italien"),
    ("Türkei", "in der Türkei"),
    ("Japan", "in Japan"),
    ("Griechenland", "in Griechenland"),
    ("Chile", "in Chile"),
    ("Marokko", "in Marokko"),
]
DISASTER_FRAMES = [  # (frame, plausible numbers for it)
    ("Bei einem Erdbeben {IN} sind nach Behördenangaben mindestens {n} Menschen ums Leben gekommen.", [12, 37, 140]),
    ("Nach schweren Überschwemmungen {IN} mussten {n} Menschen ihre Häuser verlassen.", [2300, 800, 15000]),
    ("{In} sind bei einem Busunglück {n} Menschen verletzt worden.", [9, 23, 14]),
    ("Die Behörden {IN} meldeten nach dem Sturm {n} Tote.", [4, 11, 27]),
    ("Ein Waldbrand {IN} hat bereits {n} Hektar Wald zerstört.", [300, 2300, 5800]),
    ("Bei einem Zugunglück {IN} wurden {n} Menschen schwer verletzt.", [7, 16, 31]),
]


def neutral_reporting() -> Iterator[Row]:
    for i, (target, place) in enumerate(DISASTER_PLACES):
        for frame, numbers in DISASTER_FRAMES:
            text = frame.format(IN=place, In=_cap(place), n=numbers[i % len(numbers)])
            yield mft("neutral_reporting", text, target, stance="neutral", sentiment="negative")


INTENSIFIERS = ["sehr ", "äußerst ", "ausgesprochen ", "überaus "]
INTENSIFIER_STANCE = [
    ("{T} ist ein {I}verlässlicher Partner.", "favor"),
    ("Die Politik {G} ist {I}gefährlich.", "against"),
    ("{T} hat sich in der Krise {I}solidarisch gezeigt.", "favor"),
    ("Das Vorgehen {G} ist {I}rücksichtslos.", "against"),
]
INTENSIFIER_SENTIMENT = [
    ("Die Stimmung in der Branche ist {I}gut.", "positive"),
    ("Die Lage im Katastrophengebiet ist {I}ernst.", "negative"),
    ("Die Zahlen des dritten Quartals sind {I}enttäuschend.", "negative"),
    ("Das Ergebnis der Verhandlungen ist {I}erfreulich.", "positive"),
    ("Der Auftritt der Mannschaft war {I}stark.", "positive"),
    ("Die Versorgungslage in der Stadt ist {I}angespannt.", "negative"),
]


def intensifiers() -> Iterator[Row]:
    countries = cycle(COUNTRIES[2:])
    for frame, label in INTENSIFIER_STANCE:
        for _ in range(3):
            t = next(countries)
            base = frame.format(T=t, G=_gen(t), I="")
            for word in INTENSIFIERS:
                variant = frame.format(T=t, G=_gen(t), I=word)
                yield direction("intensifiers", base, variant, t, "stance", label, "not_down")
    for frame, label in INTENSIFIER_SENTIMENT:
        for word in INTENSIFIERS:
            base, variant = frame.format(I=""), frame.format(I=word)
            yield direction("intensifiers", base, variant, None, "sentiment", label, "not_down")


MALE_NAMES = ["Thomas Berger", "Murat Demir", "Jan Kowalski", "Stefan Hoffmann"]
FEMALE_NAMES = ["Anna Schulz", "Fatma Yılmaz", "Katarzyna Nowak", "Julia Becker"]
CITIES = ["Hamburg", "Leipzig", "München", "Köln", "Dresden"]
NAME_FRAMES = [  # (frame, target or None, names)
    ("Regierungssprecher {N} sagte, Russland habe seine Zusagen gebrochen.", "Russland", MALE_NAMES),
    ("Die Abgeordnete {N} lobte die Windkraft als Jobmotor für die Region.", "Windkraft", FEMALE_NAMES),
    ("Nach Angaben von Polizeisprecher {N} wurden bei dem Unfall zwei Menschen verletzt.", None, MALE_NAMES),
    ("Die Trainerin {N} zeigte sich nach dem Sieg hochzufrieden.", None, FEMALE_NAMES),
    ("Ministerin {N} kündigte an, die Schuldenbremse zu reformieren.", "Schuldenbremse", FEMALE_NAMES),
    ("Der Ökonom {N} hält den Mindestlohn für einen Fehler.", "Mindestlohn", MALE_NAMES),
]
NUMBER_FRAMES = [  # (frame, target or None, values)
    ("Bei dem Unfall auf der A7 wurden {X} Menschen verletzt.", None, ["3", "14", "27", "112"]),
    ("Der Konzern steigerte seinen Gewinn im dritten Quartal um {X} Prozent.", None, ["4", "12", "23", "8,5"]),
    ("Die Inflationsrate lag im März bei {X} Prozent.", None, ["2,1", "2,3", "2,4", "2,2"]),
    (
        "Am Sonntag kamen {X} Zuschauer ins Stadion und feierten den Aufstieg.",
        None,
        ["18.000", "23.500", "41.000", "9.800"],
    ),
    ("Die Bahn will bis {X} alle Fernzüge mit WLAN ausstatten.", "Bahn", ["2027", "2028", "2030", "2032"]),
    (
        "Die Opposition wirft der Regierung vor, {X} Milliarden Euro verschwendet zu haben.",
        "Regierung",
        ["2", "7", "15", "40"],
    ),
]
PLACE_FRAMES = [
    ("In {P} demonstrierten am Samstag Tausende gegen die Rentenreform.", "Rentenreform"),
    ("Der Stadtrat von {P} hat den Bau der neuen Umgehungsstraße gestoppt.", None),
    ("Bei einem Brand in einer Lagerhalle in {P} entstand ein Schaden von mehreren Millionen Euro.", None),
    ("Die Klinik in {P} gilt als Vorbild für die Versorgung von Schlaganfallpatienten.", "Klinik"),
    ("In {P} hat die Polizei einen mutmaßlichen Betrüger festgenommen.", "Polizei"),
    ("Das Festival in {P} war in diesem Jahr ein voller Erfolg.", "Festival"),
]
PUNCTUATION_BASES = [  # quoted sentences get three quote styles; others lose and gain their full stop
    ("„Russland ist kein verlässlicher Partner“, sagte die Außenministerin.", "Russland"),
    ("„Die Windkraft ist unsere Zukunft“, sagte der Bürgermeister.", "Windkraft"),
    ("„Das war eine bittere Niederlage“, sagte der Trainer nach dem Spiel.", None),
    ("„Die Reform kommt viel zu spät“, kritisierte die Gewerkschaft.", "Reform"),
    ("Die Opposition wirft der Regierung Versagen vor.", "Regierung"),
    ("Polen lobt Frankreich für die gute Zusammenarbeit.", "Frankreich"),
    ("Die Zahl der Arbeitslosen ist im Herbst deutlich gesunken.", None),
    ("Bei dem Sturm wurden mehrere Häuser beschädigt.", None),
    ("Die Kernkraft hat in Deutschland keine Zukunft mehr.", "Kernkraft"),
    ("Der Verein feiert den größten Erfolg seiner Geschichte.", "Verein"),
]


# The same sentence about different countries: the stance toward the one named must not depend on which it is.
TARGET_NAMES = ["Russland", "China", "Frankreich", "Polen", "Nordkorea", "Israel"]
TARGET_NAME_FRAMES = [
    "{T} ist ein verlässlicher Partner.",
    "{T} hat seine Zusagen gebrochen.",
    "Die Delegation aus {T} traf am Montag in Genf ein.",
    "{T} hat in der Krise vorbildlich geholfen.",
    "Die Bundesregierung kritisiert {T} scharf.",
]


def _heads(target: str | None) -> tuple[str, ...]:
    return ("stance", "sentiment") if target else ("sentiment",)


def _punctuation_variants(text: str) -> list[str]:
    if text.startswith("„"):
        return [text, text.replace("„", '"').replace("“", '"'), text.replace("„", "»").replace("“", "«")]
    return [text, text[:-1], text[:-1] + " ."]


def irrelevant_changes() -> Iterator[Row]:
    cap = "irrelevant_changes"
    for frame, target, names in NAME_FRAMES:
        yield inv(cap, [frame.format(N=n) for n in names], target, _heads(target), note="names")
    minister = "Die Opposition wirft Minister {N} Versagen in der Flüchtlingspolitik vor."
    yield {
        **inv(cap, [minister.format(N=n) for n in MALE_NAMES], None, ("stance", "sentiment"), note="names"),
        "targets": MALE_NAMES,
    }
    for frame, target, values in NUMBER_FRAMES:
        yield inv(cap, [frame.format(X=x) for x in values], target, _heads(target), note="numbers")
    for frame, target in PLACE_FRAMES:
        yield inv(cap, [frame.format(P=p) for p in CITIES], target, _heads(target), note="places")
    for text, target in PUNCTUATION_BASES:
        yield inv(cap, _punctuation_variants(text), target, _heads(target), note="punctuation")
    for frame in TARGET_NAME_FRAMES:
        texts = [frame.format(T=t) for t in TARGET_NAMES]
        yield {**inv(cap, texts, None, ("stance", "sentiment"), note="target names"), "targets": TARGET_NAMES}
    for a, b in SWAP_PAIRS:
        texts = [f"{a} dankt {b} für die schnelle Hilfe{end}" for end in (".", "", " .")]
        yield inv(cap, texts, b, ("stance", "sentiment"), note="punctuation")


GENERATORS = (
    negation,
    contrast,
    target_swap,
    inflection,
    reported_speech,
    neutral_reporting,
    intensifiers,
    irrelevant_changes,
)


def generated_rows() -> list[Row]:
    """All template cases as JSONL-shaped rows, with stable ids ("t-<capability>-<n>")."""
    rows: list[Row] = []
    for generator in GENERATORS:
        for n, row in enumerate(generator(), start=1):
            rows.append({"id": f"t-{row['capability']}-{n:03d}", **row})
    return rows
