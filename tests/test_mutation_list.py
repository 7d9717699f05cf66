"""scripts/mutation_check.py's list stays applicable: each mutation's original line is still in its file,
exactly once (three had drifted from the code unnoticed, and the script reported them as n/a)."""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("mutation_check", ROOT / "scripts" / "mutation_check.py")
mutation_check = importlib.util.module_from_spec(spec)
sys.modules["mutation_check"] = mutation_check  # its dataclasses look their module up there
spec.loader.exec_module(mutation_check)


@pytest.mark.parametrize("mutation", mutation_check.MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_still_finds_its_original_line_once(mutation):
    source = (ROOT / mutation.file).read_text(encoding="utf-8")
    assert source.count(mutation.original) == 1, (
        f"{mutation.name}: {mutation.original!r} occurs {source.count(mutation.original)} times in {mutation.file}; "
        "update scripts/mutation_check.py to the code as it is now")
    assert mutation.replacement != mutation.original
