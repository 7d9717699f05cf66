"""attn.viz.support, the pages' index of helpers: every name is there, and loading it loads no torch or Streamlit."""
from attn.runs import plans
from attn.viz import datasets, groups, playground, support, tables, text
from tests.light_imports import heavy_loaded


def test_every_name_the_index_exports_is_the_modules_own_object():
    homes = (plans, datasets, groups, playground, tables, text)
    for name in support.__all__:
        owners = [m for m in homes if name in vars(m)]
        assert hasattr(support, name), f"support.__all__ names {name}, which it lacks"
        assert all(getattr(support, name) is getattr(m, name) for m in owners), name


def test_loading_the_indexes_loads_neither_torch_nor_streamlit():
    assert heavy_loaded("attn.viz.charts", "attn.viz.support", "attn.runs.plans") == [False, False]
