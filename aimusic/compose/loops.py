"""The form of a seamless loop: whole bars, no intro and no ending, the last bar leading to the first."""
from __future__ import annotations

from ..styles import Progression, StyleSpec

# Forms by number of sections; a loop that returns to A ends on the contrast, which leads home.
LOOP_FORMS = {1: "A", 2: "AB", 3: "AAB", 4: "AABB"}


def loop_bars(style: StyleSpec, tempo: float, duration: float) -> int:
    """The whole number of bars nearest to ``duration`` seconds at ``tempo`` (at least one)."""
    bar_s = style.beats_per_bar * 60.0 / tempo
    return max(1, int(round(duration / bar_s)))


def loop_layout(style: StyleSpec, total_bars: int) -> list[tuple[str, int]]:
    """(kind, n_bars) of a loop: phrases of the style's length (halved down to four bars to
    make room for a contrast), a remainder joining the last phrase."""
    phrase = style.phrase_bars
    while not style.fixed_form and phrase > 4 and total_bars // phrase < 2:
        phrase //= 2
    sizes: list[int] = []
    left = total_bars
    while left > 0:
        n = min(phrase, left)
        if 0 < left - n < max(phrase // 2, 1):
            n = left
        sizes.append(n)
        left -= n
    form = LOOP_FORMS.get(len(sizes)) or ("AB" * len(sizes))[: len(sizes)]
    return list(zip(form, sizes))


def lead_back(bar_numerals: list[str], cadence: Progression) -> list[str]:
    """The loop's bars with the last one leading into the first: the cadence's approach chord.

    A cadence ends on its resolution; the bar before it (a dominant, or the style's own
    approach) is what leads back to the tonic the loop starts on.
    """
    if len(bar_numerals) < 2 or len(cadence) < 2:
        return bar_numerals
    return bar_numerals[:-1] + [cadence[-2]]
