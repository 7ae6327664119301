"""ChunkFeeder: chunks consumed in order in a thread, bounded backlog, errors handed back."""

from __future__ import annotations

import asyncio
import threading

import pytest

from dss.upload_feeder import ChunkFeeder, UploadAbandoned


class Slow:
    """A consumer that keeps every chunk and waits for `gate` before each."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, chunk: bytes) -> None:
        self.gate.wait(10)
        self.chunks.append(chunk)


def test_chunks_are_consumed_in_order_from_a_producer_thread() -> None:
    sink = Slow()
    feeder = ChunkFeeder(sink, max_backlog=100)
    for i in range(50):
        feeder.put(bytes([i]) * 30)
    feeder.close()
    assert sink.chunks == [bytes([i]) * 30 for i in range(50)]
    assert feeder.consumed == feeder.queued == 1500


def test_a_producer_thread_waits_while_the_consumer_is_behind() -> None:
    sink = Slow()
    sink.gate.clear()
    feeder = ChunkFeeder(sink, max_backlog=100)
    done = threading.Event()

    def produce() -> None:
        for _ in range(10):
            feeder.put(b"x" * 60)
        done.set()

    threading.Thread(target=produce, daemon=True).start()
    assert not done.wait(0.3)  # stuck: more than 100 bytes queued
    assert feeder.queued - feeder.consumed <= 100 + 60
    sink.gate.set()
    assert done.wait(10)
    feeder.close()
    assert len(sink.chunks) == 10


def test_the_consumers_error_reaches_the_producer() -> None:
    def full(chunk: bytes) -> None:
        raise OSError(28, "No space left on device")

    feeder = ChunkFeeder(full, max_backlog=10)
    with pytest.raises(OSError, match="No space"):
        for _ in range(100):  # the error surfaces at a later put, at the latest at close
            feeder.put(b"y" * 20)
        feeder.close()
    with pytest.raises(OSError, match="No space"):
        feeder.put(b"z")


def test_abandoning_drops_what_is_queued() -> None:
    sink = Slow()
    sink.gate.clear()
    feeder = ChunkFeeder(sink, max_backlog=10_000)
    for _ in range(5):
        feeder.put(b"q" * 10)
    feeder.abandon()
    sink.gate.set()
    feeder.join()
    assert len(sink.chunks) <= 1  # at most the chunk in progress
    with pytest.raises(UploadAbandoned):
        feeder.put(b"late")


def test_abandoning_releases_a_producer_thread_waiting_for_room() -> None:
    sink = Slow()
    sink.gate.clear()
    feeder = ChunkFeeder(sink, max_backlog=100)
    outcome: list[BaseException] = []

    def produce() -> None:
        try:
            for _ in range(10):
                feeder.put(b"w" * 60)
        except UploadAbandoned as exc:
            outcome.append(exc)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    while feeder.queued < 120:  # the second chunk is queued: the producer now waits
        producer.join(0.01)
    feeder.abandon()
    sink.gate.set()  # the consumer ends after its chunk, still more than half behind
    producer.join(10)
    assert not producer.is_alive()
    assert len(outcome) == 1


def test_the_event_loop_waits_for_the_consumer_without_blocking() -> None:
    sink = Slow()

    async def produce() -> int:
        feeder = ChunkFeeder(sink, asyncio.get_running_loop(), max_backlog=100)
        sink.gate.clear()
        waits = 0
        for _ in range(20):
            if feeder.offer(b"a" * 40):
                waits += 1
                asyncio.get_running_loop().call_later(0.01, sink.gate.set)
                await feeder.drained()
        await feeder.finish()
        return waits

    waits = asyncio.run(produce())
    assert waits >= 1 and len(sink.chunks) == 20


def test_the_event_loop_gets_the_consumers_error() -> None:
    def broken(chunk: bytes) -> None:
        raise ValueError("bad chunk")

    async def produce() -> None:
        feeder = ChunkFeeder(broken, asyncio.get_running_loop(), max_backlog=10)
        feeder.offer(b"b" * 20)
        await feeder.drained()

    with pytest.raises(ValueError, match="bad chunk"):
        asyncio.run(produce())
