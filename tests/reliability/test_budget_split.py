"""Issue 11, item 2: splitting has no global lock (a long text never makes a short one wait for all of it),
works in chunks of whole lines without changing a sentence, and stops as soon as a sentence limit is passed."""

from __future__ import annotations

import threading
import time

import pytest

from tests.reliability.limits_support import ARTICLE, article_text
from training import Segmenter, TooManySentences
from training.segmentation import CHUNK_CHARS


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter(pool_size=2)


def test_chunked_splitting_gives_the_same_sentences_as_splitting_each_copy(segmenter: Segmenter) -> None:
    text = article_text(4 * CHUNK_CHARS)
    one = segmenter.split(ARTICLE)
    copies = text.count(ARTICLE)
    assert copies >= 4
    whole = segmenter.split(text)
    assert len(whole) == copies * len(one)
    step = len(ARTICLE) + 1
    for k in range(copies):
        shifted = [(s.start + k * step, s.end + k * step, s.text, s.boilerplate) for s in one]
        assert [(s.start, s.end, s.text, s.boilerplate) for s in whole[k * len(one) : (k + 1) * len(one)]] == shifted
    assert all(text[s.start : s.end] == s.text for s in whole)


def test_several_texts_keep_their_own_sentences(segmenter: Segmenter) -> None:
    texts = [article_text(2 * CHUNK_CHARS), "Ein Satz. Noch einer.", ARTICLE]
    assert segmenter.split_many(texts) == [segmenter.split(t) for t in texts]


def test_split_stops_after_the_chunk_that_passes_the_limit(segmenter: Segmenter) -> None:
    text = article_text(20 * CHUNK_CHARS)
    with pytest.raises(TooManySentences) as caught:
        segmenter.split_many([text], max_sentences=10)
    total = text.count(ARTICLE) * len(segmenter.split(ARTICLE))
    assert 10 < caught.value.count < total / 10, (caught.value.count, total)


def test_a_long_split_does_not_block_a_short_one(segmenter: Segmenter) -> None:
    long_text = article_text(20 * CHUNK_CHARS)  # seconds of SoMaJo
    long_done = threading.Event()
    long_thread = threading.Thread(target=lambda: (segmenter.split(long_text), long_done.set()))
    long_thread.start()
    time.sleep(0.05)  # the long split is under way, holding a segmenter
    assert not long_done.is_set()
    started = time.monotonic()
    short = segmenter.split("Die Regierung hat die Warnungen ignoriert. Das ist schlecht.")
    short_seconds = time.monotonic() - started
    short_finished_first = not long_done.is_set()
    long_thread.join()
    assert len(short) == 2
    assert short_finished_first, f"the short split ({short_seconds:.2f} s) waited for the long one"


def test_a_pool_of_one_makes_a_short_split_wait_for_one_chunk_only() -> None:
    single = Segmenter(pool_size=1)
    long_text = article_text(20 * CHUNK_CHARS)
    long_done = threading.Event()
    long_thread = threading.Thread(target=lambda: (single.split(long_text), long_done.set()))
    long_thread.start()
    time.sleep(0.05)
    single.split("Ein kurzer Satz.")
    short_finished_first = not long_done.is_set()
    long_thread.join()
    assert short_finished_first


def test_pool_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="pool_size"):
        Segmenter(pool_size=0)
