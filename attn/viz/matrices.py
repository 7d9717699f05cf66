"""The Playground's matrices: masks, and matrices to and from the frames its editable tables show.

No Altair here (the panel charts are in attn.viz.playground): attn.viz.support re-exports these for every
page, and a page that draws no chart should not import Altair."""
from __future__ import annotations

import numpy as np
import pandas as pd

MASKS = ("none", "causal", "custom")


def playground_mask(kind: str, n_q: int, n_k: int, custom=None) -> np.ndarray | None:
    """Boolean (n_q, n_k) mask, True = may attend. causal: query i sees keys 0..i."""
    if kind == "none":
        return None
    if kind == "causal":
        return np.tril(np.ones((n_q, n_k), dtype=bool))
    if kind == "custom":
        m = np.asarray(custom, dtype=bool) if custom is not None else np.ones((n_q, n_k), dtype=bool)
        if m.shape != (n_q, n_k):
            raise ValueError(f"custom mask must be {n_q}×{n_k}, got {m.shape}")
        return m
    raise ValueError(f"mask must be one of {', '.join(MASKS)}, got {kind!r}")


def matrix_frame(matrix, row_prefix: str, col_prefix: str) -> pd.DataFrame:
    """A matrix as a labelled frame for st.data_editor: rows q1.., columns d1.."""
    m = np.asarray(matrix)
    return pd.DataFrame(m, index=[f"{row_prefix}{i + 1}" for i in range(m.shape[0])],
                        columns=[f"{col_prefix}{j + 1}" for j in range(m.shape[1])])


def editor_matrix(frame: pd.DataFrame) -> tuple[np.ndarray, int]:
    """An edited frame back to floats; emptied cells become 0 -> (matrix, how many were emptied)."""
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    missing = int(np.isnan(values).sum())
    return np.nan_to_num(values, nan=0.0), missing


def shape_text(matrix) -> str:
    """'(rows, cols)' of a 2-D matrix, as the Playground writes shapes."""
    rows, cols = np.asarray(matrix).shape
    return f"({rows}, {cols})"
