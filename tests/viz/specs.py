"""What the chart tests share: walking a Vega-Lite spec, and small tidy frames to draw."""
import numpy as np
import pandas as pd

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def walk(spec):
    """Every dict inside a Vega-Lite spec, depth first."""
    if isinstance(spec, dict):
        yield spec
        for value in spec.values():
            yield from walk(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from walk(value)


def marks(spec) -> list[str]:
    out = []
    for node in walk(spec):
        mark = node.get("mark")
        if mark is not None:
            out.append(mark if isinstance(mark, str) else mark["type"])
    return out


def encodings(spec, channel: str) -> list[dict]:
    return [node["encoding"][channel] for node in walk(spec)
            if isinstance(node.get("encoding"), dict) and channel in node["encoding"]]


def rows(spec) -> list[dict]:
    """All inline data rows of a spec (Altair moves them to top-level `datasets`)."""
    out = []
    for values in spec.get("datasets", {}).values():
        out.extend(values)
    return out


def bucket_frame(seeds=(0, 1, 2), variants=("none", "additive", "dot")) -> pd.DataFrame:
    edges = [(1, 9), (10, 19), (100, 120), (20, 29), (30, 30)]  # alphabetical order would put 100-120 third
    records = []
    for v_i, variant in enumerate(variants):
        for seed in seeds:
            for lo, hi in edges:
                score = 30 - 0.2 * lo * (v_i == 0) + seed
                records.append({"variant": variant, "seed": seed, "bucket": f"{lo}" if lo == hi else f"{lo}-{hi}",
                                "lo": lo, "hi": hi, "n": 10, "bleu": score, "chrf": score + 20, "exact": 10.0,
                                "token_acc": 80.0, "align": None if variant == "none" else 60.0 + seed,
                                "aer": None if variant == "none" else 40.0})
    return pd.DataFrame(records).sample(frac=1, random_state=0)


def loss_frame(n_steps=20, variants=("none", "additive")) -> pd.DataFrame:
    records = []
    for i, variant in enumerate(variants):
        for step in range(1, n_steps + 1):
            records.append({"run_id": f"run{i}", "name": f"{variant} seed 0", "variant": variant, "seed": 0,
                            "step": step, "epoch": 0, "elapsed": step * 0.1, "train_loss": 3.0 / step,
                            "valid_loss": np.nan})
            if step % 10 == 0:
                records.append({"run_id": f"run{i}", "name": f"{variant} seed 0", "variant": variant, "seed": 0,
                                "step": step, "epoch": step // 10, "elapsed": step * 0.1,
                                "train_loss": 3.0 / step, "valid_loss": 3.5 / step})
    return pd.DataFrame(records)
