import numpy as np

from training.lexicon import PolarityFeatures, polarity_lexicon

TEXT = "Die Einigung ist ein großer Erfolg, doch die Kritik bleibt heftig und nicht unberechtigt."


def test_lexicon_is_shipped_by_gersent() -> None:
    lexicon = polarity_lexicon()
    assert len(lexicon) > 30_000
    assert lexicon["Erfolg"] > 0 > lexicon["Kritik"]


def test_rates_do_not_grow_with_text_length_but_sums_do() -> None:
    texts = [TEXT, " ".join([TEXT] * 5)]
    rates = PolarityFeatures(rate=True).fit(texts).transform(texts).toarray()
    sums = PolarityFeatures(rate=False).fit(texts).transform(texts).toarray()
    assert np.allclose(rates[0], rates[1])
    assert (sums[1] > sums[0]).all()
    assert rates[0][0] > 0 and rates[0][1] > 0 and rates[0][4] > 0  # positive, negative, negation present


def test_context_side_markers_are_ignored() -> None:
    plain, marked = PolarityFeatures().fit([]).transform(["Erfolg Kritik", "L_Erfolg R_Kritik"]).toarray()
    assert np.array_equal(plain, marked)
