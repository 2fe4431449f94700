"""Multi-tune ABC files cut into chunks of tunes that parse exactly as in the whole file.

An ABC file is an optional file header (everything before the first ``X:`` line, which
music21 prepends to every tune) followed by tunes, each starting at an ``X:`` line. A
chunk is the header plus a run of consecutive tunes, so a few big Essen files (300-720
tunes each) become many tasks of similar size.

music21 tokenizes a whole file in one pass, and a little state runs on from one tune into
the next: the default note length, key and meter until the tune sets its own, an accidental
of an unfinished last bar, a dangling tie, chord symbol or decoration, the version read
from the first 100 characters. A chunk therefore only starts at a tune for which none of
that can differ (:func:`_clean_start`); otherwise the tune stays with the one before it.
Files whose reference numbers do not increase (music21 orders an opus by number and keeps
the last of duplicates) or that set ``%%propagate-accidentals`` are not cut at all.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from music21 import abcFormat, stream
from music21.abcFormat import translate

_X_LINE = re.compile(r"^[ \t]*X:(.*)$", re.MULTILINE)
_FIELD = re.compile(r"^[ \t]*([A-Za-z]):")
_NOTE = re.compile(r"[A-Ga-gzxZ]")
# What may follow a tune's last note without carrying anything into the next tune:
# lengths, octave marks, broken rhythm, closing brackets, bar lines, spaces.
_SAFE_TAIL = re.compile(r"[0-9/,'<>\s)\]}|:\[\\]*")
_ACCIDENTAL = re.compile(r"[\^_=]")
_TUPLET = re.compile(r"\(\d")
_STATE_FIELD = re.compile(r"(?:^[ \t]*|\[)([LMK]):", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class AbcTune:
    """One tune of a file: its ``X:`` number, character span and whether a chunk may start here."""

    number: int
    start: int
    end: int
    clean_start: bool


@dataclass(frozen=True, slots=True)
class AbcLayout:
    """A file's text cut into header and tunes; ``splittable`` is False when it must stay whole."""

    text: str
    header_end: int
    tunes: tuple[AbcTune, ...]
    splittable: bool

    def chunk_text(self, first: int, count: int) -> str:
        """The file header followed by tunes ``first .. first + count - 1`` verbatim."""
        start, end = self.tunes[first].start, self.tunes[first + count - 1].end
        return self.text[:self.header_end] + self.text[start:end]


def _abc_version(text: str) -> tuple[int, int, int]:
    handler = abcFormat.ABCHandler()
    handler.parseHeaderForVersionInformation(text[:100])
    return handler.abcVersion


def _body_lines(tune_text: str) -> tuple[set[str], list[str]]:
    """Fields of the tune header (up to its first ``K:``) and the music lines after it."""
    fields: set[str] = set()
    body: list[str] = []
    in_header = True
    for line in tune_text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("%"):
            continue
        field = _FIELD.match(line)
        if in_header:
            if field:
                fields.add(field.group(1))
                in_header = field.group(1) != "K"
            elif stripped:
                fields.add("music")                  # notes before the tune's K: line
            continue
        if field is None:
            body.append(line.split("%", 1)[0])
    return fields, body


def _ends_cleanly(tune_text: str) -> bool:
    """True when nothing of this tune's end can reach into the next tune's notes."""
    _, body = _body_lines(tune_text)
    music = "\n".join(body)
    notes = list(_NOTE.finditer(music))
    if not notes:
        return False
    after = music[notes[-1].end():]
    if not _SAFE_TAIL.fullmatch(after) or music.rfind("{") > music.rfind("}"):
        return False                                 # a dangling tie, chord symbol, grace...
    tuplets = list(_TUPLET.finditer(music))
    if tuplets and len(_NOTE.findall(music[tuplets[-1].end():])) < 10:
        return False                                 # a tuplet may still be counting notes
    if "|" in after:
        return True                                  # a bar line resets the accidentals
    last_bar = music[music.rfind("|") + 1:]
    return not _ACCIDENTAL.search(last_bar)


def _fields_anywhere(text: str) -> set[str]:
    """The state-setting fields (L, M, K) a text sets, as a line or inline ``[L:...]``."""
    return set(_STATE_FIELD.findall(text))


def _clean_start(text: str, header_end: int, prev: tuple[int, int], tune: tuple[int, int],
                 set_before: set[str]) -> bool:
    """True when ``tune`` parses the same after the file header alone as after the tune before it.

    ``set_before`` holds the fields L, M, K set anywhere by the tunes before this one. A
    field the tune does not set itself must then come from the header in both cases (or
    from nowhere); a default note length derived from a meter must be the header's.
    """
    tune_text = text[tune[0]:tune[1]]
    fields, _ = _body_lines(tune_text)
    header = _fields_anywhere(text[:header_end])
    if "music" in fields:
        return False
    for field in "LMK":
        if field not in fields and field in set_before:
            return False
    if "L" not in fields and not header & {"L", "M"}:
        return False                                 # its length would come from another meter
    if not _ends_cleanly(text[prev[0]:prev[1]]):
        return False
    return _abc_version(text[:header_end] + tune_text) == _abc_version(text)


def abc_layout(text: str) -> AbcLayout:
    """Find the header and the tunes of an ABC file's text and where chunks may start."""
    starts = [m.start() for m in _X_LINE.finditer(text)]
    numbers: list[int] = []
    for m in _X_LINE.finditer(text):
        try:
            numbers.append(int(m.group(1).strip()))
        except ValueError:
            return AbcLayout(text, 0, (), False)
    if not starts:
        return AbcLayout(text, len(text), (), False)
    spans = list(zip(starts, starts[1:] + [len(text)]))
    increasing = all(a < b for a, b in zip(numbers, numbers[1:]))
    splittable = increasing and len(spans) > 1 and "propagate-accidentals" not in text
    header_end = starts[0]
    tunes, set_before = [], set()
    for i, (number, (start, end)) in enumerate(zip(numbers, spans)):
        clean = i > 0 and splittable and _clean_start(text, header_end, spans[i - 1], (start, end), set_before)
        tunes.append(AbcTune(number, start, end, clean))
        set_before |= _fields_anywhere(text[start:end])
    return AbcLayout(text, header_end, tuple(tunes), splittable)


def plan_chunks(layout: AbcLayout, max_tunes: int) -> list[tuple[int, int]]:
    """``(first, count)`` runs of tunes covering the file, each about ``max_tunes`` long or less.

    Chunks are evened out (700 tunes at most 50 a chunk give 14 of 50, not 14 and a
    remainder) and only start at clean tunes, so one may run past the target until the
    next clean start. A file that cannot be split is one chunk of all its tunes.
    """
    n = len(layout.tunes)
    if not layout.splittable or n <= max_tunes:
        return [(0, n)]
    target = math.ceil(n / math.ceil(n / max_tunes))
    chunks, first = [], 0
    for i in range(1, n):
        if i - first >= target and layout.tunes[i].clean_start:
            chunks.append((first, i - first))
            first = i
    chunks.append((first, n - first))
    return chunks


def parse_abc_chunk(layout: AbcLayout, first: int, count: int) -> list[stream.Score | None]:
    """Scores of tunes ``first .. first + count - 1``, parsed as music21 parses the whole file.

    Mirrors music21's opus building (``abcToStreamOpus``): the tokens are split by
    reference number and every tune gets the header's tokens; a tune music21 would drop
    (an ``IndexError`` while building it) is None here, so the caller can number the
    remaining tunes as the whole file would. Raises ValueError if music21 finds other
    reference numbers than the layout did.
    """
    handler = abcFormat.ABCFile().readstr(layout.chunk_text(first, count))
    by_number = handler.splitByReferenceNumber()
    wanted = [t.number for t in layout.tunes[first:first + count]]
    if sorted(k for k in by_number if k is not None) != wanted:
        raise ValueError(f"chunk {first}+{count}: music21 sees tunes {sorted(by_number, key=str)[:5]}..., "
                         f"expected {wanted[:5]}...")
    scores: list[stream.Score | None] = []
    for number in wanted:
        try:
            scores.append(translate.abcToStreamScore(by_number[number]))
        except IndexError:
            scores.append(None)
    return scores
