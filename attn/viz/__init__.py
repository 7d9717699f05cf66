"""Presentation without Streamlit: every Altair chart builder, and the pages' pure helpers.

    charts      the one index of chart builders (theme, length, loss, maps, export hold them), so the
                pages and `python -m attn figures` draw the same figures
    support     the pages' index of helpers (datasets, groups, tables, text, matrices); none draws a chart,
                so support imports no Altair (a first Home view does not wait for it)
    heads, animate, sweep   a Transformer's heads; checkpoints as GIF/MP4; a metric against a swept field

May import: attn.config, attn.records, attn.data, attn.runs. Imports neither torch nor streamlit
(tests/viz checks it).
"""
