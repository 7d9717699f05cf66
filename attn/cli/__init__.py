"""`python -m attn ...` and the `attn` command: one module per subcommand.

main        the parser (`attn.cli.main:main`), `train` and `bench`
preload     train the lecture runs into the store before a class
runs        list, show, export, delete stored runs
figures     the dashboard's figures as PNG/SVG files for slides

May import every other attn package except `attn.app` (the CLI never imports Streamlit).
"""
