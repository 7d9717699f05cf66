"""`python -m attn`: see attn/cli.py."""
from attn.cli.main import main

if __name__ == "__main__":  # spawned workers import this module too; only the parent runs the CLI
    raise SystemExit(main())
