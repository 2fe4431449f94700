"""Generation slots hold across the processes of a server even when their folder is deleted."""
from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from aimusic.slots import GenerationSlots, Overloaded


def in_child(slots: GenerationSlots) -> str:
    """Try to take a slot in a forked child (a gunicorn worker forked after the slots were made)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: report and leave at once, running nothing of the parent's
        try:
            with slots.acquire() as index:
                os.write(write, f"got {index}".encode())
        except Overloaded:
            os.write(write, b"busy")
        except BaseException as exc:   # noqa: BLE001 - reported to the parent
            os.write(write, repr(exc).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read().decode()
    os.waitpid(pid, 0)
    return answer


@pytest.mark.parametrize("delete", ["folder", "files"])
def test_deleting_the_lock_folder_while_slots_are_held_lets_no_more_in(tmp_path, delete):
    lock_dir = tmp_path / ".locks"
    slots = GenerationSlots(lock_dir, 2)
    with contextlib.ExitStack() as held:
        for _ in range(2):
            held.enter_context(slots.acquire())
        if delete == "folder":
            shutil.rmtree(lock_dir)
        else:
            for path in lock_dir.iterdir():
                path.unlink()
        assert in_child(slots) == "busy"
        assert in_child(slots) == "busy"
        with pytest.raises(Overloaded), slots.acquire():
            pass
    assert in_child(slots) == "got 0"   # released as usual


def test_one_slot_freed_after_the_deletion_is_one_slot(tmp_path):
    slots = GenerationSlots(tmp_path / ".locks", 3)
    with slots.acquire(), slots.acquire():
        shutil.rmtree(tmp_path / ".locks")
        with slots.acquire() as third:
            assert third == 2
            assert in_child(slots) == "busy"


def test_slots_made_before_the_folder_is_writable_anchor_on_first_use(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    slots = GenerationSlots(blocked / ".locks", 1)   # nothing can be created under a file
    with pytest.raises(OSError), slots.acquire():
        pass
    blocked.unlink()
    blocked.mkdir()
    with slots.acquire():
        assert in_child(slots) == "busy"


def test_the_free_heap_goes_back_when_the_last_slot_of_a_process_is_released(tmp_path, monkeypatch):
    trims: list[int] = []
    monkeypatch.setattr("aimusic.slots.release_free_memory", lambda: trims.append(1))
    slots = GenerationSlots(tmp_path / ".locks", 2)
    with slots.acquire():
        with slots.acquire():
            pass
        assert trims == []   # another generation of this process is still running
        with pytest.raises(Overloaded), slots.acquire(), slots.acquire():
            pass
        assert trims == []   # a slot never taken is never released
    assert len(trims) == 1
    with pytest.raises(RuntimeError), slots.acquire():
        raise RuntimeError("a generation that failed")
    assert len(trims) == 2


def test_a_process_generates_one_track_at_a_time(tmp_path):
    """A second slot's holder in the same process waits for the first to finish: its turn."""
    import threading

    from aimusic.slots import generating
    from aimusic.web.server import BUSY_ACCEPT_DELAY_S, accept_delay

    slots = GenerationSlots(tmp_path / ".locks", 3)
    first_in, first_may_leave, second_in = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with slots.acquire():
            order.append("first in")
            first_in.set()
            first_may_leave.wait(30)
            order.append("first out")

    def second() -> None:
        first_in.wait(30)
        with slots.acquire():
            order.append("second in")
            second_in.set()

    assert not generating() and accept_delay() == 0.0
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_in.wait(30)
    assert not second_in.wait(0.3)        # a slot is free, but the process's turn is not
    assert generating() and accept_delay() == BUSY_ACCEPT_DELAY_S > 0.0
    assert in_child(slots) == "got 2"     # the waiting one holds its slot; another process has a turn of its own
    first_may_leave.set()
    for thread in threads:
        thread.join(30)
    assert order == ["first in", "first out", "second in"]
    assert not generating() and accept_delay() == 0.0
