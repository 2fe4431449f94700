"""The heap's free pages go back to the OS: what an idle worker keeps is what it uses."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from aimusic import heap

# In a process of its own (the test runner's heap stays as it is): once a 16 MB block is freed,
# glibc serves blocks up to that size from the heap (not from mappings of their own), and keeps
# them when they are freed.
SCRIPT = textwrap.dedent("""
    import numpy as np
    from aimusic.heap import release_free_memory

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024

    big = np.ones(16 << 20, dtype=np.uint8)
    del big
    blocks = [np.ones(1 << 20, dtype=np.uint8) for _ in range(160)]
    blocks = blocks[::2]             # every other one freed: holes no automatic trim at the top returns
    held = rss_mb()
    release_free_memory()
    print(held, rss_mb())
""")


@pytest.mark.skipif(heap._LIBC is None, reason="malloc_trim is glibc's")
def test_release_free_memory_returns_the_freed_blocks():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    held, released = map(int, out.split())
    assert held - released >= 60   # 80 freed 1 MB blocks; the 80 still used stay


# Eight threads that each allocate, then the arenas glibc made for them, counted in malloc_info.
ARENAS_SCRIPT = textwrap.dedent("""
    import ctypes, sys, tempfile, threading
    from aimusic.heap import limit_arenas

    if sys.argv[1] == "limit":
        assert limit_arenas(2)
    together = threading.Barrier(8)   # all alive at once: none takes an arena another left behind
    def work():
        together.wait()
        for _ in range(200):
            kept = [bytearray(4096) for _ in range(64)]
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        f = libc.fopen(out.name.encode(), b"w")
        libc.malloc_info(0, f)
        libc.fclose(f)
        print(open(out.name).read().count("<heap nr="))
""")


@pytest.mark.skipif(heap._LIBC is None, reason="mallopt is glibc's")
def test_threads_share_the_arenas_limit_arenas_allows():
    def heaps(mode: str) -> int:
        run = subprocess.run([sys.executable, "-c", ARENAS_SCRIPT, mode], capture_output=True, text=True, check=True)
        return int(run.stdout)
    assert heaps("limit") <= 2
    assert heaps("default") > 2     # without the limit, the threads get arenas of their own


# A generation served by the app, traced: the bytes still allocated when its slot is released
# (and the heap handed back) against those after the request has returned.
RELEASE_SCRIPT = textwrap.dedent("""
    import sys, tempfile, tracemalloc
    import aimusic.slots as slots
    from aimusic.config import Settings
    from aimusic.web import create_app

    app = create_app(Settings.from_env({}, output_dir=tempfile.mkdtemp(), warm_up=False))
    client = app.test_client()
    at_release = []
    hand_back = slots.release_free_memory
    def observed():
        at_release.append(tracemalloc.get_traced_memory()[0])
        hand_back()
    slots.release_free_memory = observed
    tracemalloc.start()
    reply = client.post("/api/generate", json={"style": "rock", "duration": 15, "seed": 4})
    assert reply.status_code == 201, reply.data
    print(at_release[-1], tracemalloc.get_traced_memory()[0])
""")


def test_a_generations_audio_is_let_go_before_its_slot_hands_the_heap_back():
    out = subprocess.run([sys.executable, "-c", RELEASE_SCRIPT], capture_output=True, text=True, check=True).stdout
    at_release, after = map(int, out.split())
    # 15 s of stereo float32 is 5.3 MB: none of it may still be held when the heap is trimmed
    assert at_release - after < 1 << 20


def _count_trims(monkeypatch, module) -> list[str]:
    """Record each heap trim ``module`` asks for (the trim still runs)."""
    calls: list[str] = []
    hand_back = module.release_free_memory

    def counted() -> None:
        calls.append(module.__name__)
        hand_back()
    monkeypatch.setattr(module, "release_free_memory", counted)
    return calls


def test_a_short_generation_trims_the_heap_once_when_its_slot_is_released(tmp_path, monkeypatch):
    import aimusic.mix as mix
    import aimusic.slots as slots
    from aimusic.config import Settings
    from aimusic.web import create_app

    calls = _count_trims(monkeypatch, mix)   # one list for both modules, in the order the trims ran
    monkeypatch.setattr(slots, "release_free_memory", lambda: calls.append("aimusic.slots"))
    app = create_app(Settings.from_env({}, output_dir=str(tmp_path), warm_up=False))
    reply = app.test_client().post("/api/generate", json={"style": "jazz", "duration": 45, "seed": 2})
    assert reply.status_code == 201, reply.data
    # trimming inside the render would give back pages its next stage faults in again at once
    assert calls == ["aimusic.slots"]


def test_a_long_render_trims_the_heap_as_it_goes(monkeypatch, melodist_info):
    import aimusic.mix as mix
    from aimusic.pipeline import GenerationRequest, generate

    calls = _count_trims(monkeypatch, mix)
    request = GenerationRequest(style="ambient", duration=mix.TRIM_WITHIN_FROM_S + 8, seed=1)
    track = generate(request, melodist_info.melodist)
    assert track.audio.shape[0] >= mix.TRIM_WITHIN_FROM_S * track.sample_rate
    # one trim per TRIM_EVERY chunks of the loop, one before the master bus
    assert len(calls) >= 2
