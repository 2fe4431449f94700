"""Background jobs: one interface, two queues.

- :class:`~aimusic.jobs.embedded.EmbeddedQueue` (no ``BROKER_URL``): the jobs table is the
  queue and the service's own processes run the jobs; nothing else to start.
- :class:`~aimusic.jobs.distributed.DramatiqQueue` (``BROKER_URL=redis://…``): Dramatiq over
  Redis; web processes only queue, ``python ai_music_system.py worker`` processes run the jobs.

Either way a job's state lives in the library's database and :func:`~aimusic.jobs.runner.run_item`
does the work through ``TrackService.make_track``, the same function the synchronous path calls.
"""
from __future__ import annotations

from typing import Protocol

from ..service import TrackService


class JobQueue(Protocol):
    """What the web layer needs of a queue."""

    backend: str

    def start(self) -> None:
        """Start whatever runs jobs in this process (nothing, for a distributed queue)."""

    def stop(self, timeout: float = 5.0) -> None:
        """Stop it."""

    def submit(self, job_id: str, indices: range | list[int] = range(1)) -> None:
        """Hand over these requests of a job whose rows are committed; ``Unavailable`` if it cannot now."""

    def health(self) -> tuple[bool, str | None]:
        """Whether jobs can be queued, and why not."""


def make_queue(service: TrackService) -> JobQueue:
    """The queue the settings ask for (``BROKER_URL`` set: Redis; otherwise embedded)."""
    if service.settings.broker_url:
        from .distributed import DramatiqQueue

        return DramatiqQueue(service.settings)
    from .embedded import EmbeddedQueue

    return EmbeddedQueue(service)
