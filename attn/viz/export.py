"""Charts to files offline: PNG and SVG through vl-convert (no browser, no network); the CLI's figures."""
from __future__ import annotations

import altair as alt


def _vl_version() -> str | None:
    """The Vega-Lite version Altair writes, if this vl-convert bundles it (else its newest)."""
    import vl_convert
    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


def to_png(chart, scale: float = 2) -> bytes:
    """Render a chart to PNG bytes offline (vl-convert; no browser, no network)."""
    import vl_convert
    return vl_convert.vegalite_to_png(chart.to_json(), vl_version=_vl_version(), scale=scale)


def to_svg(chart) -> str:
    """Render a chart to an SVG document."""
    import vl_convert
    return vl_convert.vegalite_to_svg(chart.to_json(), vl_version=_vl_version())


def save(chart, path: str, scale: float = 2) -> str:
    """Write `chart` to `path` as .png or .svg (chosen by the extension); returns the path."""
    if path.lower().endswith(".svg"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(to_svg(chart))
    elif path.lower().endswith(".png"):
        with open(path, "wb") as f:
            f.write(to_png(chart, scale))
    else:
        raise ValueError(f"save: {path!r} should end in .png or .svg")
    return path
