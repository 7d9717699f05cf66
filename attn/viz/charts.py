"""Every Altair chart of the app, in one index: tidy data in, `alt.Chart` out. Pages, attn.app and the
CLI call `charts.<builder>` (attn.app also by name, as `getattr(charts, name)`), so every builder is
listed here, whichever module holds it.

Each builder takes `style="screen"` (the dashboard) or `style="slide"` (white, large, 16:9); the
styles, the one colour per variant (Okabe-Ito, colour-blind-safe) and the shared helpers are in
`attn.viz.theme`.

    length   metric_by_bucket     a metric against source-length bucket, one line per variant (Compare)
             bucket_summary       the frame behind it: mean, std, min, max over seeds per variant x bucket
             length_histogram     sentences per source length with the bucket edges (Data)
             at_checkpoint        the bucket rows of each run's newest checkpoint at a share of training
             checkpoint_note, longest_bucket_gap   the subtitle of such a chart; attention minus none, longest bucket
    loss     loss_curves          train and valid loss per run, overlaid or one panel per variant (Curves)
             live_loss_chart      loss of the running jobs, one panel per variant (Train)
             live_loss_parts      (shape, rows) of live_loss_chart, for redrawing it with new rows
             loss_long, smooth    training log rows -> curve points; the EMA of the train curve
             alignment_marks      where each run's probe maps first reach 0.8 alignment (rules on the live loss)
    sweep    metric_by_field      a bucket's metric against a swept config field, one line per variant, seed band
             sweep_summary, cells_table   the frame behind it; the cells as the Sweep page lists them
    maps     attention_heatmap    attention weights (T, S) of one sentence (Attention)
             attention_grid       several heatmaps with one colour scale
             matrix_heatmap       a small matrix with its numbers written in (Playground)
             entropy_vs_dim       softmax entropy against d, scaled and unscaled (Playground)
    heads    head_grid            a Transformer's layers x heads maps of one attention kind
             head_average         one layer's mean over heads, as an attention map
             head_summary         entropy against mean attention distance, one point per head
    playground position_effects_chart  each positional encoding's term in one query's scores (Playground)
    theme    message_chart        a chart that only says a line of text
             variant_scale        the fixed colour scale of the variants
             rows_json            a frame's rows as the charts inline them
    export   to_png, to_svg, save render offline with vl-convert
    animate  attention_frames, render_frames, save_animation   checkpoints as a GIF or MP4 (Pillow, ffmpeg)
"""
from __future__ import annotations

from attn.viz.animate import attention_frames, render_frames, save_animation
from attn.viz.export import save, to_png, to_svg
from attn.viz.heads import head_average, head_grid, head_summary
from attn.viz.length import (BAND, at_checkpoint, bucket_summary, checkpoint_note, length_histogram,
                             longest_bucket_gap, metric_by_bucket)
from attn.viz.loss import (LOSS_X, MAX_POINTS_PER_RUN, alignment_marks, live_loss_chart, live_loss_parts, loss_curves,
                           loss_long, smooth)
from attn.viz.sweep import cells_table, metric_by_field, sweep_summary
from attn.viz.maps import attention_grid, attention_heatmap, entropy_vs_dim, matrix_heatmap
from attn.viz.playground import position_effects_chart
from attn.viz.theme import (DIVERGING_SCHEME, HEATMAP_DOMAIN, HEATMAP_RANGE, STYLES, VARIANT_COLORS, VARIANT_ORDER,
                            message_chart, rows_json, variant_scale)

__all__ = ["BAND", "DIVERGING_SCHEME", "HEATMAP_DOMAIN", "HEATMAP_RANGE", "LOSS_X", "MAX_POINTS_PER_RUN", "STYLES",
           "VARIANT_COLORS", "VARIANT_ORDER", "alignment_marks", "at_checkpoint", "attention_frames", "attention_grid", "attention_heatmap", "bucket_summary", "cells_table", "checkpoint_note",
           "entropy_vs_dim", "head_average", "head_grid", "head_summary", "length_histogram", "longest_bucket_gap", "live_loss_chart", "live_loss_parts", "loss_curves", "loss_long",
           "matrix_heatmap", "message_chart", "metric_by_bucket", "metric_by_field", "position_effects_chart", "render_frames",
           "rows_json", "save", "save_animation", "smooth", "sweep_summary", "to_png", "to_svg",
           "variant_scale"]
