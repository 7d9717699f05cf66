"""A visitor that speaks Streamlit's websocket protocol as its frontend does: one browser tab, no browser.

Each page view is the BackMsg `rerun_script` and lasts until the ForwardMsg `script_finished`; the
fragment reruns an `auto_rerun` asks for are sent as the frontend sends them. Used by load_test.py.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

EARLY_FOR_RERUN = ForwardMsg.FINISHED_EARLY_FOR_RERUN
COMPILE_ERROR = ForwardMsg.FINISHED_WITH_COMPILE_ERROR
ALERT_ERROR = 1  # Alert.Format.ERROR
VIEW_TIMEOUT = 60.0


@dataclasses.dataclass
class Page:
    hash: str
    name: str
    url: str  # url_pathname ("" for the default page)


@dataclasses.dataclass
class View:
    scenario: str
    visitor: int
    page: str
    kind: str           # load (a new session) | nav (a page change or rerun) | fragment (an auto rerun)
    start: float        # seconds since the scenario began
    seconds: float
    bytes: int = 0
    errors: list = dataclasses.field(default_factory=list)


class Visitor:
    """One browser tab: a websocket speaking Streamlit's protocol as its frontend does."""

    def __init__(self, url: str, pages: list[Page]):
        self.url, self.pages = url, {p.hash: p for p in pages}
        self.ws = None
        self.page_hash = ""
        self.auto: tuple[float, str] | None = None  # (interval, fragment id) of an auto-rerunning fragment
        self.app_pages: list[Page] = []

    async def open(self) -> None:
        # Offers permessage-deflate, as browsers do; no protocol pings (the frontend sends none either).
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                           ping_interval=None, open_timeout=VIEW_TIMEOUT)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def run(self, page_hash: str = "", page_name: str = "", fragment_id: str = "") -> tuple[float, int, list]:
        """One script run -> (seconds, bytes received, errors shown)."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = page_hash
        state.page_name = page_name
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, True
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        received, errors = 0, []
        deadline = time.monotonic() + VIEW_TIMEOUT
        while True:
            data = await asyncio.wait_for(self.ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            received += len(data)
            fm = ForwardMsg.FromString(data)
            kind = fm.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = fm.new_session.page_script_hash
                if not fm.metadata.run.fragment_ids:  # a full run: the frontend drops its rerun timers
                    self.auto = None
            elif kind == "navigation" and fm.navigation.app_pages:
                self.app_pages = [Page(p.page_script_hash, p.page_name, p.url_pathname)
                                  for p in fm.navigation.app_pages]
            elif kind == "auto_rerun":
                self.auto = (fm.auto_rerun.interval, fm.auto_rerun.fragment_id)
            elif kind == "stop_auto_rerun":
                if self.auto and (not fm.stop_auto_rerun.fragment_ids or self.auto[1] in fm.stop_auto_rerun.fragment_ids):
                    self.auto = None
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                element = fm.delta.new_element
                which = element.WhichOneof("type")
                if which == "exception" and not element.exception.is_warning:
                    errors.append(f"exception: {element.exception.type}: {element.exception.message[:200]}")
                elif which == "alert" and element.alert.format == ALERT_ERROR:
                    errors.append(f"st.error: {element.alert.body[:200]}")
            elif kind == "session_event" and fm.session_event.WhichOneof("type") == "script_compilation_exception":
                errors.append(f"compile error: {fm.session_event.script_compilation_exception.message[:200]}")
            elif kind == "page_not_found":
                errors.append(f"page not found: {fm.page_not_found.page_name}")
            elif kind == "script_finished" and fm.script_finished != EARLY_FOR_RERUN:
                if fm.script_finished == COMPILE_ERROR:
                    errors.append("script finished with a compile error")
                return time.perf_counter() - start, received, errors

    async def idle_until(self, deadline: float, record) -> None:
        """Wait for `deadline` (monotonic), sending the fragment reruns an `auto_rerun` asked for."""
        while True:
            now = time.monotonic()
            if self.auto is None or now + self.auto[0] >= deadline:
                await asyncio.sleep(max(0.0, deadline - now))
                return
            interval, fragment = self.auto
            await asyncio.sleep(interval)
            began = time.monotonic()
            try:
                seconds, received, errors = await self.run(self.page_hash, fragment_id=fragment)
            except Exception as exc:  # the view is recorded as failed; the visitor carries on
                seconds, received, errors = time.monotonic() - began, 0, [f"{type(exc).__name__}: {exc}"]
                self.auto = None
            record(self.pages.get(self.page_hash, Page("", "?", "")).name, "fragment", began, seconds, received, errors)


async def timed_view(visitor: Visitor, page: Page, first: bool) -> tuple[float, int, list]:
    """A page view; the first one opens the connection (included in its time), as a new tab does."""
    start = time.perf_counter()
    try:
        if first:
            await visitor.open()
            _, received, errors = await visitor.run(page_name=page.url)
        else:
            _, received, errors = await visitor.run(page_hash=page.hash)
    except Exception as exc:
        return time.perf_counter() - start, 0, [f"{type(exc).__name__}: {exc}"[:300]]
    return time.perf_counter() - start, received, errors


async def discover_pages(url: str) -> list[Page]:
    visitor = Visitor(url, [])
    await visitor.open()
    try:
        await visitor.run()
    finally:
        await visitor.close()
    if not visitor.app_pages:
        raise SystemExit("the app sent no navigation message with its pages")
    return visitor.app_pages
