"""The distributed queue's broker on a real Redis: an idle consumer is woken by a submit, and finds
a message whose notification never came at its next look."""
from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest

from aimusic.config import Settings
from aimusic.jobs.distributed import QUEUE_NAME, DramatiqQueue

from .servers import RedisServer, start_redis, stop_redis


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    stop_redis(server)


@pytest.fixture
def queue(redis) -> Iterator[DramatiqQueue]:
    made = DramatiqQueue(Settings.from_env({}, broker_url=redis.url))
    yield made
    made.stop()


def receive(consumer, timeout: float):  # noqa: ANN001, ANN201 - a consumer, and its message
    """The consumer's next message, asking it again until ``timeout`` (it answers None after each wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = next(consumer)
        if message is not None:
            return message
    raise AssertionError("no message arrived")


def test_a_submit_wakes_a_consumer_deep_in_its_idle_wait(queue):
    consumer = queue.broker.consume(QUEUE_NAME, prefetch=1, timeout=60_000)
    try:
        consumer.idle_misses = 30  # idle for long: its next wait is 30 to 60 s
        sender = threading.Timer(0.3, queue.submit, args=("ab" * 12, [0]))
        started = time.monotonic()
        sender.start()
        message = receive(consumer, timeout=20.0)
        waited = time.monotonic() - started
        sender.join()
        assert tuple(message.args) == ("ab" * 12, 0)
        assert waited < 10.0, f"woken by the notification, not at the end of its wait ({waited:.1f} s)"
        consumer.ack(message)
    finally:
        consumer.close()


def test_a_message_whose_notification_was_lost_is_found_at_the_next_look(queue):
    consumer = queue.broker.consume(QUEUE_NAME, prefetch=1, timeout=200)
    try:
        consumer.idle_misses = 30  # a wait capped at 0.2 s
        queue.actor.send("cd" * 12, 3)  # sent, but no one is told
        message = receive(consumer, timeout=5.0)
        assert tuple(message.args) == ("cd" * 12, 3)
        consumer.ack(message)
    finally:
        consumer.close()
