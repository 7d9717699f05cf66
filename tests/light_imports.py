"""Which heavy libraries importing some modules loads, asked of a fresh interpreter (the test process
has them all already)."""
import json
import subprocess
import sys


def heavy_loaded(*modules: str, heavy=("torch", "streamlit")) -> list[bool]:
    """For each name in `heavy`: whether importing `modules` in a fresh interpreter loaded it."""
    code = (f"import json, sys, {', '.join(modules)}; "
            f"print(json.dumps([name in sys.modules for name in {list(heavy)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)
