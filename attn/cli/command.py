"""How every command ends: its exit status, and a clear line instead of a traceback for what a user can fix."""
from __future__ import annotations

import sys

from attn.config import ConfigError


def run_command(args) -> int:
    """Run the parsed command (`args.func(args)`): 0 or its own status; 2 with `error: ...` on stderr for a
    bad setting, file or run; 130 after Ctrl-C (each command cancels what it started before this)."""
    try:
        return args.func(args)
    except (ConfigError, ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
