"""Polling with a deadline, for state that other threads or processes change."""

import threading
import time


def wait_until(condition, timeout=10.0, interval=0.02):
    """Polls condition() until it returns a truthy value or timeout passes; returns the last
    value. The pause between polls is a bounded back-off, not a synchronisation sleep."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    value = condition()
    for _ in range(int(timeout / interval) + 1):
        if value or time.monotonic() >= deadline:
            break
        pause.wait(interval)
        value = condition()
    return value
