"""ReadAhead: a bounded producer thread whose errors and early stops behave like plain iteration."""

from __future__ import annotations

import threading

import pytest

from paperplan_sync.readahead import ReadAhead, read_ahead


def test_items_arrive_in_order_from_another_thread():
    threads = set()

    def source():
        for i in range(50):
            threads.add(threading.current_thread().name)
            yield i

    with ReadAhead(source(), depth=3, name="producer") as ahead:
        assert list(ahead) == list(range(50))
    assert threads == {"producer"}


def test_a_source_error_is_raised_in_the_consumer():
    def source():
        yield 1
        raise ValueError("bad chunk")

    with ReadAhead(source()) as ahead, pytest.raises(ValueError, match="bad chunk"):
        list(ahead)


def test_closing_early_stops_the_worker_and_closes_the_source():
    closed = threading.Event()

    def source():
        try:
            for i in range(10_000):
                yield i
        finally:
            closed.set()

    with ReadAhead(source(), depth=2) as ahead:
        assert next(iter(ahead)) == 0
    assert closed.wait(5)


def test_abandoning_the_generator_form_closes_the_source():
    closed = threading.Event()

    def source():
        try:
            yield from range(10_000)
        finally:
            closed.set()

    items = read_ahead(source(), depth=2)
    assert next(items) == 0
    items.close()  # what happens when a download's consumer stops early
    assert closed.wait(5)
