"""Attention Lab: the frame. Navigation, the shared sidebar, and the error guard around every page.

Run with `streamlit run dashboard.py`. Runs live in $ATTN_HOME (default ./runs); attn/runs/settings.py lists
every setting a shared server reads from its environment.
"""


def main() -> None:
    import streamlit as st

    # An emoji favicon is drawn by the browser itself; without one, Streamlit shows the page's Material icon,
    # which every visitor's browser fetches from fonts.gstatic.com (failing on an offline lecture network).
    st.set_page_config(layout="wide", page_title="Attention Lab", page_icon="🔍")
    page = st.navigation([  # first, before the slow imports: the browser shows these links at once
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/dataset:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/stacked_line_chart:"),
        st.Page("pages/attention.py", title="Attention", icon=":material/grid_on:"),
        st.Page("pages/curves.py", title="Curves", icon=":material/show_chart:"),
        st.Page("pages/runs.py", title="Runs", icon=":material/table_rows:"),
        st.Page("pages/heads.py", title="Heads", icon=":material/view_module:"),
        st.Page("pages/sweep.py", title="Sweep", icon=":material/grid_view:"),
        st.Page("pages/playground.py", title="Playground", icon=":material/calculate:"),
        st.Page("pages/lecture.py", title="Lecture view", icon=":material/co_present:"),  # the projector view
    ])

    # After the links: the app modules load on a server's first page view. Neither torch nor pandas nor
    # Altair (tests/app/test_torch_free.py): each loads where a page first needs it, so a fresh server's
    # first visitor sees the page's head while they load (benchmarks/first_view.py).
    from attn.app import admin, frame, state

    frame.keep_widget_values()
    link_problem = frame.restore_from_url()  # slide style and data from a link or a reload
    with st.sidebar:
        st.toggle("Slide style", key="slide_style",
                  help="large fonts and thick lines on a white background, for projecting and for slides")
        store_line = st.empty()
        with frame.guard("Starting the job runner"):
            state.runner()  # one per server process; it also marks runs a crashed server left behind
        with frame.guard("Reading the run store"):
            store_line.caption(state.store_line())
        with frame.guard("Reading the server settings"):
            admin.admin_sidebar()  # read-only mode and the admin password field, when the server has them
    if link_problem:
        st.warning(link_problem, icon=":material/link_off:")
    with frame.framed(), frame.guard(page.title):
        page.run()
    with frame.guard("Reading the run store"):
        store_line.caption(state.store_line())  # again: now it counts the runs the page just queued or deleted
    with frame.guard("Keeping the settings in the URL"):
        frame.write_url()  # after the page: it may have chosen other data


# Streamlit installs this file as sys.modules["__main__"], and the job runner's spawned training workers
# re-run __main__ under the name "__mp_main__": there this file must only define main().
if __name__ != "__mp_main__":
    main()
