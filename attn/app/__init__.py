"""What the pages share: the only attn package that imports Streamlit.

    state    one RunStore and one JobRunner per server process, the server's settings, the session id,
             the store's snapshot (once per store version) and cached loaders of immutable things
    admin    who may write: read-only lecture mode, the admin password, the reason an action is refused
    actions  every write action (queue, train again, cancel, rename, delete, keep an upload), each asking
             admin first, and the upload size check
    frame    what wraps every page: require_frame, widget values kept across pages, the chart style,
             the error guard
    render   charts to the browser: show_chart (specs kept for every visitor, PNG/SVG downloads) and
             the live loss chart
    compat   every private Streamlit name used, each with its public fallback
    groups   the comparison picker (studies and settings groups) shared by Compare, Attention, Curves
    live     checkpoints on Train (length chart, probe map, alignment marks) and Compare's progress slider
    explain  saliency beside attention, heads of a Transformer, the attention-over-training frames
    sweep    the Sweep page's form, its cell limit and the cells' progress

Reading never waits for torch: none of these modules imports it. Only `state.load_model` does, when a
page needs a model (the Attention page, for a sentence typed in); the Playground imports it for the
models' masked_softmax, and training in the job runner's worker processes. tests/app/test_torch_free.py
checks the other pages one by one.
"""
