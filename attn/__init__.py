"""Attention Lab's library: tasks, models with and without attention, training, evaluation, store.

Importable without Streamlit; the dashboard in `pages/` and the CLI (`python -m attn`) call into it.
"""
__version__ = "0.1.0"
