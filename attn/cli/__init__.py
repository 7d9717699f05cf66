"""`python -m attn ...` and the `attn` command: one module per subcommand.

main        the parser (`attn.cli.main:main`) and `bench`
command     how every command ends: exit status, `error: ...` instead of a traceback
train       `train`: submits to the one runner (attn.runs.runner) and waits; cached runs answer at once
progress    the progress bars of `train`
preload     train the lecture runs into the store before a class
runs        list, show, export, delete stored runs
figures     the dashboard's figures as PNG/SVG files for slides, and --animate (GIF/MP4)
sweep       `sweep`: a grid of runs on the configured executor, its table and figure

May import every other attn package except `attn.app` (the CLI never imports Streamlit).
"""
