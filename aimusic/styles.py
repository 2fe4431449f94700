"""The six styles as data: harmony, form, feel, instrumentation, grooves and mix settings.

Nothing elsewhere branches on a style's name; the planner, composer and mixer read these
fields. Progressions are roman numerals (see :func:`aimusic.theory.roman_to_chord`); one
string is one bar, and a bar with two chords writes them separated by a space.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

Progression = tuple[str, ...]


@dataclass(frozen=True)
class PartSpec:
    """One track of a style's arrangement and how it is written and mixed."""

    role: str                      # melody, harmony, pad, bass, drums
    instruments: tuple[str, ...]   # timbres the seed chooses from (first = default)
    pattern: str                   # how the composer writes it (see aimusic.compose)
    register: tuple[int, int]      # MIDI range the part stays in
    gain_db: float = 0.0
    pan: float = 0.0
    reverb_send: float = 0.2       # 0..1, share sent to the style's reverb
    effects: Mapping[str, float] = field(default_factory=dict)  # per-track effect amounts
    double: tuple[str, ...] = ()   # double-tracked: the second take's instrument per instrument
    triplets: bool = False         # written on a triplet grid: the feel adds no swing of its own


@dataclass(frozen=True)
class MelodySpec:
    """How the lead line moves: the model's style tag plus the rules that bound it."""

    model_tag: str                 # style tag the melody model is conditioned on
    step: float                    # rhythmic grid in beats for the baseline melody
    rest_prob: float               # chance of a rest on a weak position
    long_note_prob: float          # chance a note lasts two grid steps or more
    density: float                 # 0..1, share of grid positions that start a note
    phrasing: str = ""             # "aab": 12-bar choruses as call-and-response AAB lines
    blue_notes: float = 0.0        # 0..1, how often the line bends toward the blues scale


@dataclass(frozen=True)
class MixSpec:
    """Reverb, master bus and loudness settings for a style."""

    reverb_room: float = 0.4       # pedalboard Reverb room_size
    reverb_damping: float = 0.5
    reverb_width: float = 1.0
    delay_seconds: float = 0.0     # 0 = no send delay
    delay_feedback: float = 0.0
    master_low_shelf_db: float = 0.0
    master_high_shelf_db: float = 0.0
    glue_ratio: float = 2.0
    sidechain_duck: float = 0.0    # 0..1 depth of kick ducking on pads and bass
    fade_in_s: float = 0.0         # the mix swells in from -60 dB over this long (0 = it starts at once)


@dataclass(frozen=True)
class StyleSpec:
    """Everything that makes a style itself."""

    name: str
    description: str
    default_tempo: int
    tempo_range: tuple[int, int]
    beats_per_bar: int
    beat_unit: int
    modes: tuple[str, ...]
    tonics: tuple[int, ...]
    swing: float                   # off-beat eighth position: 0.5 straight, ~0.62 swung
    phrase_bars: int               # bars in one section of the form
    intro_bars: int
    progressions: Mapping[str, Mapping[str, tuple[Progression, ...]]]  # mode -> section -> options
    cadences: Mapping[str, tuple[Progression, ...]]                     # mode -> final bars
    parts: tuple[PartSpec, ...]
    grooves: tuple[str, ...]       # drum grooves (aimusic.compose.drums); empty: no drums
    melody: MelodySpec
    mix: MixSpec
    tail_seconds: float            # time left after the last bar for the final chord to ring
    ritardando: float = 1.0        # final slowdown factor (1 = none)
    fixed_form: bool = False       # True: every section is one full statement of the progression
    meter: str = ""                # the time signature when it is not beats_per_bar/beat_unit (6/8: 3 beats)
    pulse: float = 1.0             # quarter beats per counted beat: 1.5 in 6/8 and 12/8 (aimusic.meters)
    pulse_lean: float = 0.0        # a compound meter's melody notes between pulses this much softer (0..1)
    beat_lean: float = 0.0         # a slow tempo's melody and harmony notes between the beats this much softer
    length_lean: float = 0.0       # the melody model leans to longer notes: logits per octave of length

    @property
    def time_signature(self) -> str:
        """The time signature as written, e.g. ``"4/4"`` or ``"12/8"``."""
        return self.meter or f"{self.beats_per_bar}/{self.beat_unit}"

    @property
    def instruments(self) -> list[str]:
        """Human-readable default instrumentation, for /api/styles."""
        return [p.instruments[0].replace("_", " ") for p in self.parts]


def _freeze(d: dict) -> Mapping:
    return MappingProxyType({k: _freeze(v) if isinstance(v, dict) else v for k, v in d.items()})


CLASSICAL = StyleSpec(
    name="classical",
    description="Functional harmony with cadences, singing melody over piano and strings",
    default_tempo=96, tempo_range=(60, 140), beats_per_bar=4, beat_unit=4,
    modes=("major", "major", "minor"), tonics=(0, 2, 7, 5, 9, 10, 3, 4),
    swing=0.5, phrase_bars=8, intro_bars=2,
    progressions=_freeze({
        "major": {
            "intro": (("I", "V"), ("I", "IV I")),
            "A": (("I", "IV", "V", "I", "vi", "ii", "V", "I"),
                  ("I", "vi", "IV", "V", "I", "IV", "V7", "I"),
                  ("I", "V", "vi", "iii", "IV", "I", "ii V7", "I")),
            "B": (("vi", "iii", "IV", "I", "ii", "VI7", "ii", "V7"),
                  ("IV", "I", "ii", "V", "vi", "IV", "ii", "V7"),
                  ("V", "I", "V", "vi", "IV", "I", "ii", "V7")),
        },
        "minor": {
            "intro": (("i", "V"), ("i", "iv i")),
            "A": (("i", "iv", "V", "i", "bVI", "iv", "V7", "i"),
                  ("i", "bVII", "bIII", "bVI", "iv", "i", "V7", "i")),
            "B": (("bIII", "bVII", "i", "V", "bVI", "iio", "V7", "V7"),
                  ("iv", "i", "bVI", "bIII", "iv", "i", "iio", "V7")),
        },
    }),
    cadences=_freeze({"major": (("IV", "V7", "I"), ("ii", "V7", "I")),
                      "minor": (("iv", "V7", "i"), ("iio", "V7", "i"))}),
    parts=(
        # a violin or the piano leads (a flute over the strings is heard as an ambient record; it
        # stays a choice)
        PartSpec("melody", ("violin", "violin", "piano"), "melody", (67, 91), gain_db=-2, pan=0.1,
                 reverb_send=0.35),
        PartSpec("harmony", ("piano",), "arpeggio", (48, 72), gain_db=-6, pan=-0.2, reverb_send=0.3),
        PartSpec("pad", ("strings",), "sustained", (52, 76), gain_db=-12, pan=0.3, reverb_send=0.45),
        PartSpec("bass", ("cello",), "root_fifth", (36, 55), gain_db=-5, pan=-0.1, reverb_send=0.3),
    ),
    grooves=(),
    melody=MelodySpec(model_tag="classical", step=0.5, rest_prob=0.08, long_note_prob=0.35, density=0.6),
    mix=MixSpec(reverb_room=0.75, reverb_damping=0.4, master_high_shelf_db=0.5, glue_ratio=1.5),
    tail_seconds=2.5, ritardando=1.35,
)

JAZZ = StyleSpec(
    name="jazz",
    description="Swing feel, ii-V-I changes, walking bass",
    default_tempo=120, tempo_range=(80, 220), beats_per_bar=4, beat_unit=4,
    modes=("major", "major", "minor"), tonics=(5, 10, 3, 0, 7, 8),
    swing=0.64, phrase_bars=8, intro_bars=4,
    progressions=_freeze({
        "major": {
            "intro": (("ii7", "V7", "Imaj7", "V7"), ("Imaj7", "vi7", "ii7", "V7")),
            "A": (("Imaj7", "vi7", "ii7", "V7", "iii7", "VI7", "ii7", "V7"),
                  ("ii7", "V7", "Imaj7", "Imaj7", "ii7", "V7", "Imaj7", "VI7"),
                  ("Imaj7", "IV7", "iii7", "VI7", "ii7", "V7", "Imaj7", "ii7 V7")),
            "B": (("IVmaj7", "iv7", "iii7", "VI7", "ii7", "V7", "Imaj7", "ii7 V7"),
                  ("iii7", "VI7", "ii7", "V7", "iii7", "VI7", "ii7", "V7")),
        },
        "minor": {
            "intro": (("iiø7", "V7", "i7", "V7"),),
            "A": (("i7", "iv7", "iiø7", "V7", "i7", "bVImaj7", "iiø7", "V7"),
                  ("i7", "i7", "iv7", "iv7", "iiø7", "V7", "i7", "V7")),
            "B": (("bIIImaj7", "bVImaj7", "iiø7", "V7", "i7", "iv7", "iiø7", "V7"),),
        },
    }),
    cadences=_freeze({"major": (("ii7", "V7", "Imaj9"), ("iii7 VI7", "ii7 V7", "Imaj7")),
                      "minor": (("iiø7", "V7", "i9"),)}),
    parts=(
        # a horn leads (an electric piano playing the line over its own comping is a fusion
        # record to a listener; it stays a choice)
        PartSpec("melody", ("sax", "brass", "sax"), "melody", (60, 84), gain_db=-2, pan=0.15,
                 reverb_send=0.25),
        PartSpec("harmony", ("electric_piano", "piano"), "comp_swing", (50, 74), gain_db=-7, pan=-0.25,
                 reverb_send=0.2),
        PartSpec("bass", ("upright_bass",), "walking", (31, 55), gain_db=-4, pan=0.0, reverb_send=0.1),
        PartSpec("drums", ("jazz_kit",), "groove", (0, 127), gain_db=-5, pan=0.0, reverb_send=0.15),
    ),
    grooves=("jazz_ride", "jazz_ride_kick"),
    melody=MelodySpec(model_tag="pop", step=0.5, rest_prob=0.15, long_note_prob=0.25, density=0.7),
    mix=MixSpec(reverb_room=0.45, reverb_damping=0.55, glue_ratio=1.8),
    tail_seconds=2.0,
)

BLUES = StyleSpec(
    name="blues",
    description="12-bar form with dominant sevenths, boogie bass, triplet guitar comping, AAB guitar lines with "
                "blue notes",
    default_tempo=90, tempo_range=(60, 140), beats_per_bar=4, beat_unit=4,
    modes=("major", "major", "minor"), tonics=(4, 9, 7, 0, 2, 5, 10),
    swing=0.66, phrase_bars=12, intro_bars=4, fixed_form=True,
    progressions=_freeze({
        "major": {
            "intro": (("V7", "IV7", "I7", "V7"),),
            "A": (("I7", "IV7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7"),
                  ("I7", "I7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7")),
            "B": (("I7", "IV7", "I7", "I7", "IV7", "IV7", "I7", "VI7", "ii7", "V7", "I7 VI7", "ii7 V7"),),
        },
        "minor": {
            "intro": (("bVI7", "V7", "i7", "V7"),),
            "A": (("i7", "iv7", "i7", "i7", "iv7", "iv7", "i7", "i7", "bVI7", "V7", "i7", "V7"),),
            "B": (("i7", "iv7", "i7", "i7", "iv7", "iv7", "i7", "i7", "bVI7", "V7", "i7 iv7", "i7 V7"),),
        },
    }),
    cadences=_freeze({"major": (("V7", "IV7", "I7"),), "minor": (("bVI7", "V7", "i7"),)}),
    parts=(
        PartSpec("melody", ("crunch_guitar", "lead_guitar", "crunch_guitar"), "melody", (60, 84), gain_db=0,
                 pan=0.15, reverb_send=0.25),
        # a rhythm guitar comps, not a piano, and the drums sit under the band: a piano's triplets
        # over a kit swinging its cymbal are a jazz group's
        PartSpec("harmony", ("rhythm_guitar",), "comp_triplet", (50, 72), gain_db=-8, pan=-0.25, reverb_send=0.2,
                 triplets=True),
        PartSpec("bass", ("electric_bass", "upright_bass"), "boogie", (28, 52), gain_db=-4, reverb_send=0.05),
        PartSpec("drums", ("acoustic_kit",), "groove", (0, 127), gain_db=-9, reverb_send=0.12),
    ),
    grooves=("shuffle_backbeat", "shuffle_backbeat_kick"),
    melody=MelodySpec(model_tag="pop", step=0.5, rest_prob=0.2, long_note_prob=0.35, density=0.55,
                      phrasing="aab", blue_notes=0.6),
    mix=MixSpec(reverb_room=0.4, reverb_damping=0.6, master_low_shelf_db=0.5, glue_ratio=2.0),
    tail_seconds=2.0,
)

ROCK = StyleSpec(
    name="rock",
    description="I-IV-V and I-V-vi-IV, double-tracked power chords with palm mutes, guitar lead, backbeat drums",
    default_tempo=120, tempo_range=(90, 170), beats_per_bar=4, beat_unit=4,
    modes=("major", "major", "minor"), tonics=(4, 9, 2, 7, 0, 5),
    swing=0.5, phrase_bars=8, intro_bars=4,
    progressions=_freeze({
        "major": {
            "intro": (("I", "IV", "I", "V"), ("I", "bVII", "IV", "I")),
            "A": (("I", "IV", "V", "IV", "I", "IV", "V", "V"),
                  ("I", "V", "vi", "IV", "I", "V", "vi", "IV"),
                  ("I", "bVII", "IV", "I", "I", "bVII", "IV", "V")),
            "B": (("vi", "IV", "I", "V", "vi", "IV", "V", "V"),
                  ("IV", "V", "vi", "I", "IV", "V", "IV", "V")),
        },
        "minor": {
            "intro": (("i", "bVII", "bVI", "bVII"),),
            "A": (("i", "bVI", "bIII", "bVII", "i", "bVI", "bIII", "bVII"),
                  ("i", "bVII", "bVI", "bVII", "i", "iv", "bVII", "i")),
            "B": (("bVI", "bVII", "i", "i", "bVI", "bVII", "V", "V"),),
        },
    }),
    cadences=_freeze({"major": (("IV", "V", "I"),), "minor": (("bVI", "bVII", "i"),)}),
    parts=(
        # the rhythm guitars lead the mix; the organ pad only colours it
        PartSpec("melody", ("lead_guitar", "crunch_guitar", "lead_guitar", "organ"), "melody", (62, 86),
                 gain_db=-7, pan=0.15, reverb_send=0.2),
        PartSpec("harmony", ("overdrive_guitar",), "power_chords", (40, 64), gain_db=-5, pan=-1.0,
                 reverb_send=0.08, double=("overdrive_guitar_2",)),
        PartSpec("pad", ("organ", "clean_guitar"), "sustained", (55, 76), gain_db=-22, pan=0.3, reverb_send=0.2),
        PartSpec("bass", ("electric_bass",), "root_eighths", (28, 52), gain_db=-4, reverb_send=0.05),
        PartSpec("drums", ("acoustic_kit",), "groove", (0, 127), gain_db=-6, reverb_send=0.12),
    ),
    grooves=("rock_backbeat", "rock_eighths", "rock_four"),
    melody=MelodySpec(model_tag="pop", step=0.5, rest_prob=0.15, long_note_prob=0.4, density=0.55),
    mix=MixSpec(reverb_room=0.35, reverb_damping=0.6, master_low_shelf_db=1.0, master_high_shelf_db=1.0,
                glue_ratio=3.0),
    tail_seconds=2.0,
)

ELECTRONIC = StyleSpec(
    name="electronic",
    description="Minor-key loops over four-on-the-floor, synth bass and pads, build-ups and breakdowns",
    default_tempo=124, tempo_range=(100, 150), beats_per_bar=4, beat_unit=4,
    modes=("minor",), tonics=(9, 4, 2, 7, 0, 5, 11),
    swing=0.5, phrase_bars=8, intro_bars=4,
    progressions=_freeze({
        "minor": {
            "intro": (("i", "i", "bVI", "bVII"),),
            "A": (("i", "bVI", "bIII", "bVII", "i", "bVI", "bIII", "bVII"),
                  ("i", "i", "bVI", "bVII", "i", "i", "bVI", "bVII"),
                  ("i7", "iv7", "bVImaj7", "bVII", "i7", "iv7", "bVImaj7", "bVII")),
            "B": (("bVI", "bVII", "i", "i", "bVI", "bVII", "iv", "V"),
                  ("iv", "bVI", "bVII", "i", "iv", "bVI", "bVII", "bVII")),
        },
        "major": {
            "intro": (("I", "I", "IV", "V"),),
            "A": (("vi", "IV", "I", "V", "vi", "IV", "I", "V"),),
            "B": (("IV", "V", "vi", "vi", "IV", "V", "I", "I"),),
        },
    }),
    cadences=_freeze({"minor": (("bVI", "bVII", "i"),), "major": (("IV", "V", "I"),)}),
    parts=(
        PartSpec("melody", ("synth_lead", "synth_pluck"), "melody", (64, 88), gain_db=-5, pan=0.1,
                 reverb_send=0.25, effects={"delay": 0.3}),
        PartSpec("harmony", ("synth_pluck",), "stabs", (55, 76), gain_db=-9, pan=-0.3, reverb_send=0.3),
        PartSpec("pad", ("synth_pad",), "sustained", (52, 76), gain_db=-13, pan=0.0, reverb_send=0.4,
                 effects={"chorus": 0.5}),
        PartSpec("bass", ("synth_bass",), "offbeat_octave", (28, 52), gain_db=-4, reverb_send=0.0),
        PartSpec("drums", ("electronic_kit",), "groove", (0, 127), gain_db=-2, reverb_send=0.08),
    ),
    grooves=("four_on_floor", "four_on_floor_clap"),
    melody=MelodySpec(model_tag="pop", step=0.25, rest_prob=0.2, long_note_prob=0.3, density=0.6),
    mix=MixSpec(reverb_room=0.6, reverb_damping=0.3, delay_seconds=0.375, delay_feedback=0.35,
                master_low_shelf_db=1.5, master_high_shelf_db=1.0, glue_ratio=3.0, sidechain_duck=0.6),
    tail_seconds=2.5,
)

AMBIENT = StyleSpec(
    name="ambient",
    description="Slow modal drones, suspended chords, sparse bell-like melody in a wide space",
    default_tempo=70, tempo_range=(40, 100), beats_per_bar=4, beat_unit=4,
    modes=("major", "minor"), tonics=(2, 4, 9, 5, 0, 7),
    swing=0.5, phrase_bars=8, intro_bars=2,
    progressions=_freeze({
        "major": {
            "intro": (("Iadd9", "Iadd9"), ("Isus2", "Iadd9")),
            "A": (("Iadd9", "Iadd9", "IVmaj7", "IVmaj7", "vi7", "vi7", "IVmaj7", "Isus2"),
                  ("Imaj7", "Imaj7", "II", "II", "Imaj7", "Imaj7", "IVmaj7", "Isus4")),
            "B": (("vi7", "vi7", "IVmaj7", "IVmaj7", "Iadd9", "Iadd9", "Vsus4", "Vsus4"),),
        },
        "minor": {
            "intro": (("i9", "i9"), ("Isus2", "i9")),
            "A": (("i9", "i9", "bVImaj7", "bVImaj7", "i9", "i9", "IV", "Isus2"),
                  ("i7", "i7", "bVII", "bVII", "bVImaj7", "bVImaj7", "i9", "i9")),
            "B": (("bVImaj7", "bVImaj7", "bIIImaj7", "bIIImaj7", "iv7", "iv7", "Isus4", "Isus4"),),
        },
    }),
    cadences=_freeze({"major": (("IVmaj7", "Iadd9", "Iadd9"),), "minor": (("bVImaj7", "i9", "i9"),)}),
    parts=(
        PartSpec("melody", ("bell", "electric_piano", "flute"), "melody", (62, 86), gain_db=-6, pan=0.2,
                 reverb_send=0.6, effects={"delay": 0.4}),
        PartSpec("pad", ("synth_pad", "strings"), "sustained", (48, 76), gain_db=-7, pan=-0.1, reverb_send=0.7,
                 effects={"chorus": 0.4}),
        # a high string layer under the pad, felt more than heard (louder, it is a classical record)
        PartSpec("harmony", ("strings",), "sustained_high", (60, 84), gain_db=-19, pan=0.35, reverb_send=0.7),
        PartSpec("bass", ("synth_bass",), "drone", (28, 48), gain_db=-9, reverb_send=0.2),
    ),
    grooves=(),
    melody=MelodySpec(model_tag="folk", step=1.0, rest_prob=0.3, long_note_prob=0.6, density=0.35),
    mix=MixSpec(reverb_room=0.92, reverb_damping=0.25, delay_seconds=0.5, delay_feedback=0.45, glue_ratio=1.5,
                fade_in_s=1.5),
    tail_seconds=4.0,
)

STYLES: Mapping[str, StyleSpec] = MappingProxyType(
    {s.name: s for s in (CLASSICAL, JAZZ, ROCK, BLUES, ELECTRONIC, AMBIENT)})
STYLE_NAMES: tuple[str, ...] = tuple(STYLES)


def get_style(name: str) -> StyleSpec:
    """Look a style up by name, case-insensitively; raises KeyError for unknown names."""
    return STYLES[name.strip().lower()]
