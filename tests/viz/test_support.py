"""attn.viz.support, the pages' index of helpers: every name is there, and loading it loads no torch or Streamlit."""
import numpy as np

from attn.runs import plans
from attn.viz import datasets, groups, matrices, support, tables, text
from tests.light_imports import heavy_loaded


def test_every_name_the_index_exports_is_the_modules_own_object():
    homes = (plans, datasets, groups, matrices, tables, text)
    for name in support.__all__:
        owners = [m for m in homes if name in vars(m)]
        assert hasattr(support, name), f"support.__all__ names {name}, which it lacks"
        assert all(getattr(support, name) is getattr(m, name) for m in owners), name


def test_loading_the_indexes_loads_neither_torch_nor_streamlit():
    assert heavy_loaded("attn.viz.charts", "attn.viz.support", "attn.runs.plans") == [False, False]


def test_per_word_items_merge_a_subword_panel_and_leave_a_panel_without_weights():
    weights = np.array([[0.5, 0.25, 0.25],    # ▁the   rows: target pieces; columns: ▁le ▁ch at
                        [0.0, 0.5, 0.5],      # ▁c
                        [0.2, 0.4, 0.4]])     # at
    panel = {"title": "dot", "src_tokens": ["▁le", "▁ch", "at"], "out_tokens": ["▁the", "▁c", "at"],
             "weights": weights, "gold": {(0, 0)}}
    empty = {"title": "none", "src_tokens": ["▁le"], "out_tokens": ["▁the"], "weights": None}
    merged, untouched = support.per_word_items([panel, empty])
    assert untouched is empty
    assert (merged["src_tokens"], merged["out_tokens"], merged["title"]) == (["le", "chat"], ["the", "cat"],
                                                                             "dot · per word")
    # rows of one word averaged, columns of one word summed: "cat" = mean of rows 1-2, "chat" = cols 1+2
    np.testing.assert_allclose(merged["weights"], [[0.5, 0.5], [0.1, 0.9]])
    assert merged["gold"] is None  # gold links index pieces, not words


def test_the_lazy_index_names_only_modules_viz_may_import():
    """support imports its helpers' modules by name (importlib), which tests/test_layers.py cannot read."""
    from tests.test_layers import ALLOWED
    for module in support.HOMES:
        layer = module.split(".")[1]
        assert layer == "viz" or layer in ALLOWED["viz"], module
