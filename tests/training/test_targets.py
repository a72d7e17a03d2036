import pytest

from training.demonyms import is_derived
from training.targets import Target, context_window, find_mention, is_question, locate


def test_mention_is_found_through_german_inflection() -> None:
    text = "Die Vorräte Russlands gehen nach Angaben aus Kiew zur Neige."
    span = find_mention(text, "Russland")
    assert span is not None and text[span[0] : span[1]] == "Russlands"


def test_multi_word_target_and_case() -> None:
    text = "Ein Sprecher der europäischen Zentralbank wollte sich nicht äußern."
    span = find_mention(text, "Europäische Zentralbank")
    assert span is not None and text[span[0] : span[1]] == "europäischen Zentralbank"


def test_question_targets_are_not_searched() -> None:
    question = "Soll der Bund die Integration von Ausländern stärker fördern?"
    assert is_question(question)
    assert find_mention("Der Bund muss mehr tun.", question) is None


def test_context_window_marks_sides_and_drops_target() -> None:
    text = "Die Regierung kritisierte Russland scharf wegen der Angriffe."
    span = find_mention(text, "Russland")
    assert span is not None
    assert context_window(text, span, 2) == "L_Regierung L_kritisierte R_scharf R_wegen"


# --- Target, Mention, locate -----------------------------------------------------------------------------------------

RUSSLAND = Target("Russland", ("Moskau", "Kreml"))


def found(text: str, target: Target) -> tuple[str, str] | None:
    """(text, via) of the mention; also checks that the offsets index the sentence."""
    mention = locate(text, target)
    if mention is None:
        return None
    assert text[mention.start : mention.end] == mention.text
    return mention.text, mention.via


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("Russland ist kein verlässlicher Partner.", RUSSLAND, ("Russland", "name")),
        ("Die Vorräte Russlands gehen zur Neige.", RUSSLAND, ("Russlands", "name")),
        ("Der Kreml wies die Vorwürfe zurück.", RUSSLAND, ("Kreml", "alias")),
        ("Aus Moskaus Sicht ist das ein Erfolg.", RUSSLAND, ("Moskaus", "alias")),
        ("Die russische Armee rückt vor.", RUSSLAND, ("russische", "derived")),
        ("Die Russen greifen erneut an.", RUSSLAND, ("Russen", "derived")),
        ("Die ukrainischen Truppen halten die Stellung.", Target("Ukraine"), ("ukrainischen", "derived")),
        ("Viele Ukrainer fliehen.", Target("Ukraine"), ("Ukrainer", "derived")),
        ("Die US-Regierung warnt.", Target("USA"), ("US", "derived")),
        ("Die amerikanische Regierung warnt.", Target("USA"), ("amerikanische", "derived")),
        ("Die Nordkoreaner liefern Granaten.", Target("Nordkorea"), ("Nordkoreaner", "derived")),
        ("Pjöngjang liefert Granaten.", Target("Nordkorea", ("Pjöngjang",)), ("Pjöngjang", "alias")),
        ("Die Europäer streiten.", Target("Europa"), ("Europäer", "derived")),
        ("Die EU-Kommission tagt.", Target("EU"), ("EU", "name")),
        ("Die Nato warnt.", Target("NATO"), ("Nato", "name")),
        ("Das Rote Kreuz hilft.", Target("Rotes Kreuz"), ("Rote Kreuz", "name")),  # a declined adjective
        ("Die Grünen streiten.", Target("Grüne"), ("Grünen", "name")),
        ("Die Parteien streiten.", Target("Partei"), ("Parteien", "name")),
        ("Die Lage in Niger ist angespannt.", Target("Niger"), ("Niger", "name")),
    ],
)
def test_locate_finds_names_aliases_and_derived_forms(text: str, target: Target, expected: tuple[str, str]) -> None:
    assert found(text, target) == expected


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Weißrussland schweigt zu den Vorwürfen.", RUSSLAND),  # Belarus is another country
        ("Die weißrussische Führung schweigt.", RUSSLAND),
        ("Der Euro legt zu, und das freut euch.", Target("EU")),  # a short name never matches inside words
        ("Die Stimmung in Europa ist gedrückt.", Target("EU")),
        ("Die lateinamerikanischen Staaten beraten.", Target("USA")),
        ("Frankreich hat der Ukraine großzügige Hilfe zugesagt.", RUSSLAND),
        ("Ivan Stupak sprach mit Metro.", RUSSLAND),
        ("Der Pol der Erde ist kalt.", Target("Polen")),
        ("Nigeria meldet weniger Inflation.", Target("Niger")),  # inflection is a closed list of endings
        ("Russlandkrise und Regierungschef", Target("Russland")),  # stems under four letters are not matched
        ("Wir wollen das nicht, sagte er auf Englisch: us.", Target("USA")),  # capitals forms match exactly
    ],
)
def test_locate_refuses_look_alikes(text: str, target: Target) -> None:
    assert locate(text, target) is None


def test_first_mention_wins_and_the_name_wins_a_tie() -> None:
    text = "Moskau und Russland: die russische Führung"
    assert found(text, RUSSLAND) == ("Moskau", "alias")
    assert found("Russland und Moskau", Target("Russland", ("Russland-Politik",))) == ("Russland", "name")


def test_questions_are_never_located() -> None:
    question = Target("Soll die Schweiz Russland sanktionieren?")
    assert question.is_question
    assert not RUSSLAND.is_question
    assert locate("Russland muss sanktioniert werden.", question) is None


def test_find_mention_is_locate_without_aliases() -> None:
    text = "Die russische Armee rückt auf Kiew vor."
    assert find_mention(text, "Russland") == (4, 13)
    assert find_mention(text, "  Russland ") == (4, 13)
    assert find_mention("Der Kreml schweigt.", "Russland") is None


@pytest.mark.parametrize(
    ("word", "name", "expected"),
    [
        ("Ukrainer", "Ukraine", True),  # the stemmer relates demonym and name ...
        ("ukrainischen", "Ukraine", True),  # ... and the -isch adjective
        ("wirtschaften", "Wirtschaft", False),  # ... but a verb on the noun's stem is no mention
        ("russischen", "Russland", True),  # from the table: no stemmer derives russisch from Russland
        ("Russin", "Russland", True),
        ("US", "Vereinigte Staaten", True),
        ("us", "USA", False),  # capitalised table forms match exactly
        ("weißrussische", "Russland", False),
    ],
)
def test_is_derived(word: str, name: str, expected: bool) -> None:
    assert is_derived(word, name) is expected
