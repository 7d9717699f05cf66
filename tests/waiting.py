"""Waiting for an event in a test: the timeout only guards against a hang, it measures nothing."""
import time

HANG = 600.0  # seconds: far beyond any healthy wait on a busy 2-core machine


def wait_until(predicate, what: str, timeout: float = HANG, poll: float = 0.1):
    """Poll `predicate` until it returns something true -> that value; AssertionError naming `what` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
