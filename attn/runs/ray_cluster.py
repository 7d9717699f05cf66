"""Joining the Ray cluster ATTN_RAY_ADDRESS names, or saying at once why it cannot be joined.

    connect(address)   ray.init for None (a local Ray), auto, HOST:6379 or ray://HOST:10001 (Ray Client)
    client_mode()      whether this process reaches the cluster through Ray Client

Imported only by attn.runs.ray_runner (ATTN_EXECUTOR=ray).
"""
from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import ray

from attn.config import ConfigError

CONNECT_TIMEOUT_SECONDS = 5.0  # how long a cluster address may take to answer before the server says so
CLIENT_ATTEMPTS = 4            # ray:// connections tried while the head fails to start the client's server


class RayUnavailable(ConfigError):
    """ATTN_EXECUTOR=ray, but the cluster ATTN_RAY_ADDRESS names cannot be reached."""


def connect(address: str | None) -> bool:
    """Join the Ray cluster at `address` (None: start a local one) -> True when this call started Ray.

    A host:port or ray://host:port that does not answer within CONNECT_TIMEOUT_SECONDS, or any failure of
    ray.init, raises RayUnavailable naming ATTN_RAY_ADDRESS, so a server says what to fix at once instead
    of hanging in Ray's own retries.
    """
    shown = address if address is not None else "(unset: a local Ray in this process)"
    if address not in (None, "auto", "local"):
        _check_reachable(address, shown)
    if ray.is_initialized():  # a process that joined a cluster itself (a test, a notebook) keeps it
        return False
    try:
        if address is None:
            ray.init(include_dashboard=False, configure_logging=False)
        elif address.startswith("ray://"):
            _init_client(address)
        else:
            ray.init(address=address, configure_logging=False)
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}"
        if address and address.startswith("ray://") and os.environ.get("RAY_AUTH_MODE") != "token":
            why += (" (a cluster with token authentication answers Ray Client only when this server has "
                    "RAY_AUTH_MODE=token and the cluster's token: RAY_AUTH_TOKEN, or ~/.ray/auth_token copied "
                    "from the head; see docs/ray.md)")
        raise RayUnavailable(_unavailable(shown, why)) from None
    return True


def _init_client(address: str) -> None:
    """ray.init through Ray Client, tried up to CLIENT_ATTEMPTS times while the head fails to start this
    client's server: Ray 2.60's proxy forks it from a process with gRPC threads running, and here about
    half of those forks exited at once ("SpecificServer startup failed" in the head's log, "Starting Ray
    client server failed" to the client). Any other failure is raised at the first attempt."""
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        try:
            ray.init(address=address, configure_logging=False)
            return
        except Exception as exc:
            if attempt == CLIENT_ATTEMPTS or "Starting Ray client server failed" not in str(exc):
                raise
            ray.shutdown()


def client_mode() -> bool:
    """Whether this process reaches its cluster through Ray Client (ATTN_RAY_ADDRESS = ray://HOST:PORT)."""
    from ray.util.client import ray as client
    return client.is_connected()


def _check_reachable(address: str, shown: str) -> None:
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError as exc:  # a port that is not a number
        raise RayUnavailable(_unavailable(shown, f"not an address ({exc})")) from None
    if not host or port is None:
        raise RayUnavailable(_unavailable(shown, "not an address: give ray://HOST:PORT (Ray Client, port "
                                                 "10001), HOST:PORT (the head's GCS, port 6379) or auto"))
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS).close()
    except OSError as exc:
        raise RayUnavailable(_unavailable(shown, f"nothing answers at {host}:{port} ({exc})")) from None


def _unavailable(shown: str, why: str) -> str:
    return (f"the Ray cluster cannot be reached: ATTN_RAY_ADDRESS = {shown}: {why}. Start the cluster "
            "(`ray start --head` on the head node, see docs/ray.md), set ATTN_RAY_ADDRESS to its address "
            "(ray://HOST:10001, HOST:6379 or auto), or unset ATTN_EXECUTOR to train on this machine; stored "
            "runs can still be browsed")
