"""Who may write: read-only lecture mode, the admin password, and the reasons a write is refused.

Every write action (attn.app.actions) asks `refusal` first, so read-only mode and the admin password
are enforced there, whatever a page shows; pages also disable the widgets of refused actions with the
same reason (`show_refusal`). The password itself is never kept: a visitor who entered the right one
keeps an HMAC of it, under a key that dies with the server process.
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import logging
import secrets
import threading
import time

import streamlit as st

from attn.app.state import session_id, settings
from attn.config import ConfigError
from attn.runs.settings import ServerSettings

log = logging.getLogger("attn.dashboard")


class Refused(PermissionError):
    """A write action this visitor may not do on this server (read-only mode, no admin password)."""


ACTIONS = {"train": "Training", "cancel": "Cancelling runs", "rename": "Renaming runs",
           "delete": "Deleting runs", "upload": "Uploading a corpus"}
ADMIN_KEY = "admin_fingerprint"        # session state: fingerprint of the password this visitor entered
PASSWORD_KEY = "admin_password_input"  # the sidebar field (no "." in it: keep_widget_values leaves it alone)
WRONG_PER_MINUTE = 30                  # wrong passwords the whole server checks per minute, against guessing
_PROCESS_KEY = secrets.token_bytes(32)  # fingerprints are HMACs under a key that dies with the process
_wrong: collections.deque = collections.deque()  # times of recent wrong passwords (all sessions)
_wrong_lock = threading.Lock()


def _fingerprint(password: str) -> str:
    return hmac.new(_PROCESS_KEY, password.encode(), hashlib.sha256).hexdigest()


def is_admin(s: ServerSettings | None = None) -> bool:
    """True when this visitor entered the admin password now in force."""
    s = s or settings()
    entered = st.session_state.get(ADMIN_KEY)
    return bool(s.admin_password and entered and hmac.compare_digest(entered, _fingerprint(s.admin_password)))


def refusal(*actions: str) -> str | None:
    """Why this visitor may not do `actions` (keys of ACTIONS) on this server, or None when they may.

    Settings that cannot be read refuse every action (a broken secrets file must not open the server).
    """
    names = [ACTIONS[a] for a in actions]
    what = " and ".join([names[0], *(n.lower() for n in names[1:])])
    is_, needs = ("is", "needs") if len(names) == 1 else ("are", "need")
    try:
        s = settings()
    except ConfigError as exc:
        return f"{what} {is_} switched off: this server's settings cannot be read ({exc})."
    if not s.locked or is_admin(s):
        return None
    if s.read_only:
        unlock = " The lecturer can unlock this with the admin password in the sidebar." if s.admin_password else ""
        return (f"This server is in read-only lecture mode (ATTN_READ_ONLY=1): {what.lower()} {is_} switched off. "
                f"You can browse the stored runs and type your own sentences on the Attention page.{unlock}")
    return f"{what} {needs} the admin password (set by ATTN_ADMIN_PASSWORD): enter it in the sidebar."


def allowed(action: str) -> bool:
    """For button callbacks: True, or False with the refusal left in 'notice' for the page to show."""
    refused = refusal(action)
    if refused:
        st.session_state["notice"] = ("error", refused)
    return refused is None


def show_refusal(*actions: str) -> str | None:
    """Show why `actions` are refused (one info box) and return the reason; None, and nothing shown, if allowed."""
    refused = refusal(*actions)
    if refused:
        st.info(refused, icon=":material/lock:")
    return refused


def _check_password() -> None:
    """The sidebar field's callback: remember a right password in session state; say so when wrong."""
    entered = st.session_state.get(PASSWORD_KEY) or ""
    st.session_state[PASSWORD_KEY] = ""  # the password itself is not kept
    if not entered:
        return
    now = time.monotonic()
    with _wrong_lock:
        while _wrong and now - _wrong[0] > 60:
            _wrong.popleft()
        if len(_wrong) >= WRONG_PER_MINUTE:
            st.session_state["admin_notice"] = ("Too many wrong passwords on this server in the last minute; "
                                                "wait a minute.")
            return
    try:
        password = settings().admin_password
    except ConfigError as exc:  # a broken secrets file: nobody can sign in until it is fixed
        st.session_state["admin_notice"] = str(exc)
        return
    if password and hmac.compare_digest(entered.encode(), password.encode()):
        st.session_state[ADMIN_KEY] = _fingerprint(password)
        st.session_state.pop("admin_notice", None)
        log.info("session %s entered the admin password", session_id())
    else:
        with _wrong_lock:
            _wrong.append(now)
        st.session_state["admin_notice"] = "That is not the admin password."


def _sign_out() -> None:
    st.session_state.pop(ADMIN_KEY, None)


def admin_sidebar() -> None:
    """The sidebar's lock: the mode this server is in, and the admin password field when one is set."""
    s = settings()
    if s.read_only:
        st.caption(":material/lock: Read-only lecture mode")
    if s.admin_password is None:
        return
    if is_admin(s):
        st.caption(":material/lock_open: Admin: you may train, cancel, rename, upload and delete")
        st.button("Sign out", key="admin.signout_button", on_click=_sign_out, icon=":material/logout:")
        return
    st.text_input("Admin password", key=PASSWORD_KEY, type="password", on_change=_check_password,
                  help="the password set by ATTN_ADMIN_PASSWORD; press Enter. It unlocks training, cancelling, "
                       "renaming, uploading and deleting for this browser tab")
    notice = st.session_state.pop("admin_notice", None)
    if notice:
        st.error(notice, icon=":material/error:")
