"""Every Altair chart of the app, in one index: tidy data in, `alt.Chart` out. Pages, attn.app and the
CLI call `charts.<builder>` (attn.app also by name, as `getattr(charts, name)`), so every builder is
listed here, whichever module holds it.

Each builder takes `style="screen"` (the dashboard) or `style="slide"` (white, large, 16:9); the
styles, the one colour per variant (Okabe-Ito, colour-blind-safe) and the shared helpers are in
`attn.viz.theme`.

    length   metric_by_bucket     a metric against source-length bucket, one line per variant (Compare)
             bucket_summary       the frame behind it: mean, std, min, max over seeds per variant x bucket
             length_histogram     sentences per source length with the bucket edges (Data)
    loss     loss_curves          train and valid loss per run, overlaid or one panel per variant (Curves)
             live_loss_chart      loss of the running jobs, one panel per variant (Train)
             live_loss_parts      (shape, rows) of live_loss_chart, for redrawing it with new rows
             loss_long, smooth    training log rows -> curve points; the EMA of the train curve
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
from attn.viz.length import BAND, bucket_summary, length_histogram, metric_by_bucket
from attn.viz.loss import LOSS_X, MAX_POINTS_PER_RUN, live_loss_chart, live_loss_parts, loss_curves, loss_long, smooth
from attn.viz.maps import attention_grid, attention_heatmap, entropy_vs_dim, matrix_heatmap
from attn.viz.playground import position_effects_chart
from attn.viz.theme import (DIVERGING_SCHEME, HEATMAP_DOMAIN, HEATMAP_RANGE, STYLES, VARIANT_COLORS, VARIANT_ORDER,
                            message_chart, rows_json, variant_scale)

__all__ = ["BAND", "DIVERGING_SCHEME", "HEATMAP_DOMAIN", "HEATMAP_RANGE", "LOSS_X", "MAX_POINTS_PER_RUN", "STYLES",
           "VARIANT_COLORS", "VARIANT_ORDER", "attention_frames", "attention_grid", "attention_heatmap", "bucket_summary",
           "entropy_vs_dim", "head_average", "head_grid", "head_summary", "length_histogram", "live_loss_chart", "live_loss_parts", "loss_curves", "loss_long",
           "matrix_heatmap", "message_chart", "metric_by_bucket", "position_effects_chart", "render_frames",
           "rows_json", "save", "save_animation", "smooth", "to_png", "to_svg",
           "variant_scale"]
