"""Sentence segmentation of scraped German news with SoMaJo.

Stance and sentiment are classified per sentence, so the splitter decides what the model sees.
Scraped articles are messy (one paragraph or headline per line, HTML remnants, captions,
contact lines), hence the layers around SoMaJo:

* Line breaks (``\\n``, ``\\r``, ``\\v``, ``\\f``, U+0085, U+2028, U+2029) are hard boundaries:
  headlines carry no full stop and would otherwise be glued to the next paragraph.
* HTML tags (also scraped variants such as ``< /p>``), comments and ``<script>``/``<style>``
  blocks are *boundaries*: no sentence contains one, a tag inside a sentence splits it.
* Character entities (``&nbsp;``, ``&amp;``, ``&#8222;``) encode a single character, so cutting
  at them would shred ``Müller &amp; Söhne`` or ``5&nbsp;€``: they are trimmed from sentence
  edges (and never form a sentence of their own) but kept inside a sentence.
* Markup, control characters and lone surrogates are masked with spaces of equal length before
  SoMaJo sees the text, so SoMaJo's offsets are offsets into the original.  Where SoMaJo still
  fails (its NFC alignment asserts on decomposed Hangul, for one), the affected lines are redone
  one by one (see ``Segmenter._spans_robust``); no input makes ``split`` raise.
  ``Sentence.text`` is always the exact slice ``original[start:end]``; spans never start or end
  with whitespace, control or format characters.
* Pieces without a letter, digit or emoji/symbol (``“``, ``.``) are dropped.
* Sentences longer than :data:`MAX_SENTENCE_CHARS` are cut at the last whitespace before the limit
  (hard cut if there is none), bounding the cost of feature extraction on junk input.
* A straight/closing quote that SoMaJo puts at the start of the next sentence
  (``'Nein.' Sie sagte`` → ``'Nein.`` / ``' Sie sagte``) is moved back to the sentence it closes.

What SoMaJo does *not* do: it never splits without sentence punctuation, so a scraping error such
as ``eingesetzt werden Die russische Armee`` stays one sentence.  We deliberately add no
"word followed by capitalised word" heuristic: German capitalises every noun, so it would split
correct sentences far more often than it repairs broken ones.
"""

from __future__ import annotations

import contextlib
import io
import queue
import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from somajo import SoMaJo
from somajo.token import Token

from training.boilerplate import is_boilerplate
from training.errors import TooManySentences

__all__ = ["MAX_SENTENCE_CHARS", "Segmenter", "Sentence", "find_entities", "find_tags"]

MAX_SENTENCE_CHARS = 1000
"""Longest sentence handed to the classifier; longer runs are cut at whitespace."""

CHUNK_CHARS = 10_000
"""About how many characters one SoMaJo call splits (whole lines; a longer line is one call on its own).

Lines are hard boundaries, so cutting the text between lines changes no sentence; it bounds how long a
segmenter is held and lets a sentence limit stop the work after the chunk that exceeds it."""

# Tags incl. scraped variants with spaces ("< /p>", "<br / >") and attributes, comments,
# script/style blocks (their body is code, never reporting) and <!DOCTYPE>.  Bounded quantifiers
# keep matching linear on junk input.
_TAG = re.compile(
    r"""
      <!--.*?-->                                               # comment
    | <(script|style)\b[^>]{0,2000}>.*?</\1\s*>                # script/style element with body
    | <(?:\s{0,3}/\s{0,3})?[A-Za-z][A-Za-z0-9:-]{0,30}         # (closing) tag name
      (?:\s[^<>]{0,2000})?\s{0,3}/?\s{0,3}>                    # attributes, self-closing slash
    | <![A-Za-z][^<>]{0,2000}>                                 # <!DOCTYPE ...>
    """,
    re.VERBOSE | re.DOTALL | re.IGNORECASE,
)
# Named and numeric character references (&amp; &nbsp; &#8222; &#x201C;).
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")

# Everything Python's str.splitlines() treats as a line break except the file-separator controls.
_LINE_BREAKS = "\n\r\v\f\x85\u2028\u2029"
_TO_NEWLINE = str.maketrans(dict.fromkeys(_LINE_BREAKS, "\n"))
# Control characters (Unicode category Cc) other than "\n", and lone surrogates (Cs).
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# Tokens SoMaJo may put at the start of the next sentence although they close the previous one.
_CLOSING_QUOTES = frozenset("'\"’‘“”»«›‹")

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence; ``text == original[start:end]`` holds exactly (see :class:`Segmenter`)."""

    start: int
    end: int
    text: str
    boilerplate: bool


def find_tags(text: str) -> list[Span]:
    """Spans of HTML tags, comments and script/style blocks: sentence boundaries."""
    return [m.span() for m in _TAG.finditer(text)]


def find_entities(text: str) -> list[Span]:
    """Spans of character entities outside tags: trimmed from sentence edges."""
    return _entities_outside(text, find_tags(text))


def _entities_outside(text: str, tags: Sequence[Span]) -> list[Span]:
    starts = [s for s, _ in tags]
    result: list[Span] = []
    for m in _ENTITY.finditer(text):
        i = bisect_right(starts, m.start()) - 1
        if i < 0 or tags[i][1] <= m.start():
            result.append(m.span())
    return result


class _Markup:
    """Tag and entity spans of one text with the lookups the span arithmetic needs."""

    __slots__ = ("entities", "entity_at_end", "entity_at_start", "tag_starts", "tags")

    def __init__(self, text: str) -> None:
        self.tags = find_tags(text)
        self.tag_starts = [s for s, _ in self.tags]
        self.entities = _entities_outside(text, self.tags)
        self.entity_at_start = dict(self.entities)
        self.entity_at_end = {e: s for s, e in self.entities}

    def mask(self, text: str) -> str:
        """Same-length copy of ``text`` for SoMaJo: markup and control characters become spaces.

        Line breaks are normalised to ``\\n`` (one per character) so SoMaJo's single-newline
        paragraph mode sees every hard boundary, and offsets into the copy equal offsets into
        ``text``.
        """
        chars = list(text.translate(_TO_NEWLINE))
        for start, end in (*self.tags, *self.entities):
            for i in range(start, end):
                if chars[i] != "\n":
                    chars[i] = " "
        return _CONTROL.sub(" ", "".join(chars))

    def trim(self, text: str, start: int, end: int) -> Span:
        """Shrink a span past whitespace, control/format characters and entities at its edges."""
        while True:
            start, end = _trim_junk(text, start, end)
            if start < end and start in self.entity_at_start:
                start = self.entity_at_start[start]
            elif start < end and end in self.entity_at_end:
                end = self.entity_at_end[end]
            else:
                return start, end

    def cut_around_tags(self, start: int, end: int) -> list[Span]:
        """Split ``[start, end)`` at every tag it overlaps, dropping the tags themselves."""
        pieces: list[Span] = []
        i = max(bisect_right(self.tag_starts, start) - 1, 0)
        while i < len(self.tags) and self.tags[i][0] < end:
            t_start, t_end = self.tags[i]
            if t_end > start:
                if t_start > start:
                    pieces.append((start, t_start))
                start = max(start, t_end)
            i += 1
        if start < end:
            pieces.append((start, end))
        return pieces

    def cap(self, text: str, start: int, end: int, limit: int = MAX_SENTENCE_CHARS) -> list[Span]:
        """Cut an over-long span at whitespace so that each piece has at most ``limit`` chars."""
        pieces: list[Span] = []
        while end - start > limit:
            cut = next((i for i in range(start + limit, start, -1) if text[i].isspace()), start)
            if cut == start:  # no whitespace at all: hard cut, but not inside a grapheme/entity
                cut = start + limit
                while cut > start + 1 and unicodedata.combining(text[cut]):
                    cut -= 1
                for e_start, e_end in self.entities:
                    if e_start < cut < e_end:
                        cut = e_start if e_start > start else e_end
            a, b = self.trim(text, start, cut)
            if a < b:
                pieces.append((a, b))
            start, end = self.trim(text, cut, end)
        if start < end:
            pieces.append((start, end))
        return pieces

    def has_content(self, text: str, start: int, end: int) -> bool:
        """Whether a span carries anything classifiable (a letter, digit or emoji/symbol)."""
        plain = _ENTITY.sub(" ", text[start:end])
        return any(ch.isalnum() or unicodedata.category(ch) == "So" for ch in plain)


def _trim_junk(text: str, start: int, end: int) -> Span:
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        end -= 1
    return start, end


def _is_edge_junk(ch: str) -> bool:
    """Characters a sentence must not start or end with (whitespace, controls, format chars)."""
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")


def _new_somajo() -> SoMaJo:
    # de_CMC is the only German model in SoMaJo 2.x; it knows news abbreviations, numbers,
    # e-mail addresses, URLs and emoji, which is what scraped articles contain.
    return SoMaJo("de_CMC", split_camel_case=False, split_sentences=True, character_offsets=True)


class Segmenter:
    """SoMaJo-based splitter; build once and share.

    Thread-safe without one global lock: a SoMaJo instance is not safe to share, so each call
    borrows one from a small pool (``pool_size`` instances, built on demand, about 1.5 MB each) and
    holds it for one chunk of :data:`CHUNK_CHARS` only, so a long text never makes a short one wait
    for all of it.  Splitting costs about 1 ms per sentence, all of it inside SoMaJo.
    """

    def __init__(self, pool_size: int = 1) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, not {pool_size}")
        self._idle: queue.LifoQueue[SoMaJo] = queue.LifoQueue()
        self._idle.put(_new_somajo())
        self._created, self._pool_size = 1, pool_size
        self._grow = threading.Lock()

    @contextlib.contextmanager
    def _somajo(self) -> Iterator[SoMaJo]:
        """Borrow an idle SoMaJo, build one while fewer than ``pool_size`` exist, else wait for one."""
        try:
            somajo = self._idle.get_nowait()
        except queue.Empty:
            with self._grow:
                grow = self._created < self._pool_size
                self._created += grow
            somajo = _new_somajo() if grow else self._idle.get()
        try:
            yield somajo
        finally:
            self._idle.put(somajo)

    def split(self, text: str) -> list[Sentence]:
        """Split one text; see the module docstring for the rules."""
        return self.split_many([text])[0]

    def split_many(self, texts: Sequence[str], max_sentences: int | None = None) -> list[list[Sentence]]:
        """Split several texts, chunk by chunk; same result as ``split`` per text.

        With ``max_sentences``, raise :class:`TooManySentences` as soon as the texts together give
        more (its count is then those found so far), without splitting the rest.
        """
        markups = [_Markup(t) for t in texts]
        masked = [m.mask(t) for t, m in zip(texts, markups, strict=True)]
        result: list[list[Sentence]] = [[] for _ in texts]
        count = 0
        for batch in _chunks(masked):
            pieces = [masked[i][start:end] for i, start, end in batch]
            try:
                spans_per_piece = self._somajo_spans(pieces)
            except Exception:  # SoMaJo asserts on rare inputs: retry line by line to isolate it
                spans_per_piece = [self._spans_robust(p) for p in pieces]
            for (i, base, _), spans in zip(batch, spans_per_piece, strict=True):
                built = _build(texts[i], markups[i], [(base + a, base + b) for a, b in spans])
                result[i].extend(built)
                count += len(built)
            if max_sentences is not None and count > max_sentences:
                raise TooManySentences(count, max_sentences)
        return result

    def from_sentences(self, sentences: Sequence[str]) -> list[Sentence]:
        """Wrap caller-split sentences: one :class:`Sentence` per input, in input order.

        The caller owns the segmentation, so nothing is split, capped or dropped and the result
        aligns 1:1 with ``sentences``.  Offsets index into *each given string itself*
        (``sentences[i][r.start:r.end] == r.text``), not into a joined text, which would only
        invent a document that never existed.  The span is trimmed of surrounding whitespace and
        of tags/entities at either edge; markup inside is kept, as cutting it out would break the
        1:1 alignment.  An empty or markup-only input yields an empty sentence flagged as
        boilerplate, because there is nothing to classify.
        """
        result: list[Sentence] = []
        for s in sentences:
            markup = _Markup(s)
            start, end = markup.trim(s, 0, len(s))
            while start < end:  # peel tags (and what the trim then exposes) off both edges
                pieces = markup.cut_around_tags(start, end)
                inner = markup.trim(s, pieces[0][0], pieces[-1][1]) if pieces else (start, start)
                if inner == (start, end):
                    break
                start, end = inner
            text = s[start:end]
            empty = not markup.has_content(s, start, end)
            result.append(Sentence(start, end, text, empty or is_boilerplate(text)))
        return result

    # -- internals -------------------------------------------------------------------------

    def _somajo_spans(self, masked: Sequence[str]) -> list[list[Span]]:
        """Sentence spans per text from SoMaJo's token offsets, relative to that text.

        All texts are joined with ``\\n`` and given to SoMaJo's single-newline paragraph mode,
        whose token offsets are then global; a line never spans two texts, so neither does a
        sentence.
        """
        bases: list[int] = []
        pos = 0
        for m in masked:
            bases.append(pos)
            pos += len(m) + 1
        joined = "\n".join(masked)
        with self._somajo() as somajo:
            raw = list(
                somajo.tokenize_text_file(io.StringIO(joined, newline="\n"), paragraph_separator="single_newlines")
            )
        result: list[list[Span]] = [[] for _ in masked]
        for start, end in _sentence_spans(raw, joined):
            idx = bisect_right(bases, start) - 1
            result[idx].append((start - bases[idx], end - bases[idx]))
        return result

    def _spans_robust(self, masked: str) -> list[Span]:
        """Per-line fallback when SoMaJo fails on a batch.

        SoMaJo's NFC alignment asserts on scripts whose NFC composes characters that are not
        combining marks (decomposed Hangul, some Indic vowel signs).  A failing line is retried
        with every non-Latin letter replaced by ``X`` (same length, so offsets hold and
        punctuation still drives the split); if even that fails the line becomes one span.
        """
        spans: list[Span] = []
        pos = 0
        for line in masked.split("\n"):
            if line.strip():
                for attempt in (line, _latin_placeholders(line)):
                    try:
                        spans.extend((pos + a, pos + b) for a, b in self._somajo_spans([attempt])[0])
                        break
                    except Exception:  # try the next, safer attempt
                        continue
                else:  # last resort: never fail a request over one odd line
                    spans.append((pos, pos + len(line)))
            pos += len(line) + 1
        return spans


def _chunks(masked: Sequence[str], size: int = CHUNK_CHARS) -> Iterator[list[tuple[int, int, int]]]:
    """Batches of ``(text index, start, end)`` pieces of whole lines, about ``size`` characters per batch."""
    batch: list[tuple[int, int, int]] = []
    filled = 0
    for i, text in enumerate(masked):
        start = 0
        while start < len(text):
            end = text.find("\n", start + max(size - filled, 1))
            end = len(text) if end < 0 else end
            batch.append((i, start, end))
            filled += end - start
            if filled >= size:
                yield batch
                batch, filled = [], 0
            start = end + 1
    if batch:
        yield batch


def _latin_placeholders(line: str) -> str:
    """Same-length copy with letters and marks beyond Latin Extended-B replaced by ``X``."""
    return "".join("X" if ord(ch) >= 0x250 and unicodedata.category(ch)[0] in "LM" else ch for ch in line)


def _build(text: str, markup: _Markup, spans: Iterable[Span]) -> list[Sentence]:
    """Cut spans around tags, trim, cap, drop empty pieces and flag boilerplate."""
    sentences: list[Sentence] = []
    for span_start, span_end in spans:
        for piece_start, piece_end in markup.cut_around_tags(span_start, span_end):
            a, b = markup.trim(text, piece_start, piece_end)
            for start, end in markup.cap(text, a, b):
                if markup.has_content(text, start, end):
                    piece = text[start:end]
                    sentences.append(Sentence(start, end, piece, is_boilerplate(piece)))
    return sentences


def _sentence_spans(sentences: Sequence[Sequence[Token]], joined: str) -> list[Span]:
    """(start, end) of each SoMaJo sentence, with misplaced closing quotes moved back.

    SoMaJo sometimes starts a sentence with the quote that closes the previous one
    (``Er sagte 'Nein.' Sie ...``).  A quote token that touches the previous sentence and is
    followed by whitespace cannot open a quotation, so it is given back.
    """
    spans: list[Span] = []
    for tokens in sentences:
        offsets = [
            t.character_offset
            for t in tokens
            if t.character_offset is not None and t.character_offset[0] < t.character_offset[1]
        ]
        if not offsets:
            continue
        first_start, first_end = offsets[0]
        if (
            spans
            and spans[-1][1] == first_start
            and joined[first_start:first_end] in _CLOSING_QUOTES
            and (len(offsets) == 1 or offsets[1][0] > first_end)
        ):
            spans[-1] = (spans[-1][0], first_end)
            offsets = offsets[1:]
            if not offsets:
                continue
        spans.append((offsets[0][0], offsets[-1][1]))
    return spans
