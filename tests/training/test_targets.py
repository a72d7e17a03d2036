from training.targets import context_window, find_mention, is_question


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
