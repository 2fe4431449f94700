"""Work split over two threads gives the same result, to the bit, as the same work in sequence."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from aimusic.halves import balance, run_halves, spare_core, split_range
from aimusic.mastering import hop_power, master, true_block_peaks, true_peak_db
from aimusic.mix import master_bus
from aimusic.styles import STYLES

SR = 44100


def _mix(seed: int, seconds: float = 9.3) -> np.ndarray:
    """A stereo test signal with unequal, changing channels (bursts over a tone), float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    env = (0.2 + 0.8 * (np.sin(2 * np.pi * 0.7 * t) > 0.6))[:, None]
    tone = np.stack([np.sin(2 * np.pi * 220 * t), 0.4 * np.sin(2 * np.pi * 331 * t + 1.0)], axis=1)
    return (env * (0.3 * tone + 0.2 * rng.standard_normal((t.size, 2)))).astype(np.float32)


def test_results_come_back_in_order_and_the_later_half_runs_on_the_helper():
    where: dict[int, str] = {}

    def task(i: int):
        def run() -> int:
            where[i] = threading.current_thread().name
            return i * i
        return run

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="helper") as helper:
        assert run_halves(helper, [task(i) for i in range(5)]) == [0, 1, 4, 9, 16]
    assert {where[i] for i in range(3)} == {threading.main_thread().name}
    assert {where[i] for i in range(3, 5)} == {"helper_0"}
    assert run_halves(None, [task(i) for i in range(3)]) == [0, 1, 4]


def test_an_error_here_waits_for_the_helper_before_it_is_raised():
    finished = threading.Event()

    def slow() -> None:
        finished.wait(0.2)
        finished.set()

    def fail() -> None:
        raise ValueError("here")

    with ThreadPoolExecutor(max_workers=1) as helper:
        with pytest.raises(ValueError, match="here"):
            run_halves(helper, [fail, slow])
        assert finished.is_set()


def test_ranges_cover_the_span_once():
    assert split_range(0, 10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert split_range(3, 3, 4) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_the_tail_of_a_mix_is_the_same_on_two_threads(seed):
    y = _mix(seed)
    with ThreadPoolExecutor(max_workers=1) as helper:
        assert np.array_equal(hop_power(y, sr=SR, helper=helper), hop_power(y, sr=SR))
        floor = float(np.max(np.abs(y))) * 0.3
        assert np.array_equal(true_block_peaks(y, floor=floor, helper=helper), true_block_peaks(y, floor=floor))
        assert true_peak_db(y, helper=helper) == true_peak_db(y)
        for style in ("rock", "ambient"):
            spec = STYLES[style].mix
            alone = master(master_bus(y.copy(), spec, sr=SR), sr=SR)
            split = master(master_bus(y.copy(), spec, sr=SR, helper=helper), sr=SR, helper=helper)
            assert np.array_equal(alone, split), style


@pytest.mark.parametrize("line, cores, spare", [
    ("0.50 0.40 0.30 1/180 999\n", 2, True),      # only the asking thread runs: the other core is free
    ("2.10 1.90 1.50 2/180 999\n", 2, False),     # another render holds the other core
    ("3.00 2.00 1.00 3/180 999\n", 4, True),
    ("garbled\n", 2, False),                     # the kernel does not say: no second thread
])
def test_a_second_thread_is_used_only_when_a_core_is_free(tmp_path, line, cores, spare):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(line)
    assert spare_core(loadavg=loadavg, cores=cores) is spare
    assert spare_core(loadavg=tmp_path / "missing", cores=cores) is False


def test_the_reading_thread_takes_the_chains_that_even_out_the_two():
    # reading 10, chains 6, 4, 1 and buses 3: here 10 + 1 and there 10 + 3 beat every other split
    assert balance(10.0, [6.0, 4.0, 1.0], 3.0) == {2}
    assert balance(2.0, [6.0, 4.0, 1.0], 3.0) == {0}            # 8 here, 8 there
    assert balance(30.0, [6.0, 4.0, 1.0], 3.0) == set()         # the reading alone is the longer
    many = [1.0] * 12                                           # greedy beyond every set: 12 here and 12 there
    assert len(balance(6.0, many, 6.0)) == 6


@pytest.mark.parametrize("style", ["rock", "electronic"])
def test_a_render_is_the_same_whichever_thread_runs_the_chains(style, monkeypatch):
    from aimusic.compose.markov import MarkovMelodist
    from aimusic.pipeline import GenerationRequest, generate
    import aimusic.mix as mix

    request = GenerationRequest(style=style, duration=14.0, seed=4)
    monkeypatch.setattr(mix, "spare_core", lambda: False)
    alone = generate(request, MarkovMelodist()).audio
    monkeypatch.setattr(mix, "spare_core", lambda: True)
    for pick in (lambda n: set(range(n)), lambda n: {0}, lambda n: set(range(1, n, 2))):   # all here, one, every other
        monkeypatch.setattr(mix, "balance", lambda read_s, chains_s, buses_s, pick=pick: pick(len(chains_s)))
        assert np.array_equal(generate(request, MarkovMelodist()).audio, alone)


def test_the_new_drum_hits_made_on_both_threads_are_the_ones_a_set_up_plays(monkeypatch):
    """The hits listed before the set-up are exactly those it plays; made on two threads, the streams are the same."""
    from aimusic.compose.markov import MarkovMelodist
    from aimusic.pipeline import GenerationRequest, generate
    import aimusic.synth.notes as notes
    from aimusic.synth.render import new_hits, score_tonic, track_streams
    from aimusic.synth.stream import make_hits

    score = generate(GenerationRequest(style="jazz", duration=8.0, seed=9, key="E major"), MarkovMelodist()).score
    n = 8 * SR
    notes.DRUM_CACHE.clear()
    alone = {name: s.render() for name, s in track_streams(score, sr=SR, n_samples=n).items()}
    notes.DRUM_CACHE.clear()
    tonic = score_tonic(score)
    todo = new_hits(score, sr=SR, n_samples=n, tonic=tonic)
    assert todo and len(set(todo)) == len(todo)
    lengths = [notes.get_kit(k[0])[k[1]].length for k in todo]
    assert lengths == sorted(lengths)                      # taken from the end: the longest first
    make_hits(list(todo), sr=SR)
    made: list[tuple] = []
    real = notes.render_hit
    monkeypatch.setattr(notes, "render_hit", lambda *a, **k: made.append(a) or real(*a, **k))
    track_streams(score, sr=SR, n_samples=n)               # every hit it plays is already there
    assert made == []
    assert new_hits(score, sr=SR, n_samples=n, tonic=tonic) == []
    monkeypatch.setattr(notes, "render_hit", real)
    notes.DRUM_CACHE.clear()
    with ThreadPoolExecutor(max_workers=1) as helper:
        shared = {name: s.render() for name, s in track_streams(score, sr=SR, n_samples=n, helper=helper).items()}
    assert shared.keys() == alone.keys()
    assert all(np.array_equal(shared[k], alone[k]) for k in alone)
