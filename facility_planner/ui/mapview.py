"""The coverage map in the app: the folium map turned into the st_folium component's arguments once.

``st_folium`` renders the folium map it is given into script, header and HTML on every run, and
doing so changes the map (element ids renamed, layers added to the map a second time), so a
cached ``folium.Map`` handed to it again draws a blank map. Building and rendering the sample
district's map takes about a second. So the map is rendered once per assessment and layer
choice with streamlit-folium's own helpers (``prepare``), the resulting strings are kept, and each
run hands the kept strings to the component (``show``). The component key is derived from the
script, so a new map is a new component (no stale click from the previous map).
"""

from __future__ import annotations

import hashlib
from typing import Any

#: What the map sends back: the feature last clicked (its properties carry ``building_index``).
RETURNED = ["last_active_drawing"]


def prepare(m: Any) -> dict[str, Any]:
    """The component arguments of a folium map (renders ``m``; do not reuse ``m`` afterwards)."""
    import streamlit_folium as sf

    m.get_root().render()
    m.render()
    html = sf._get_html(m)
    header = sf._get_header(m)
    script = sf._get_map_string(m)
    css: list[str] = []
    js: list[str] = []
    for element in _walk(m):
        css.extend(href for _, href in getattr(element, "default_css", []))
        js.extend(src for _, src in getattr(element, "default_js", []))
    return {"script": script, "header": header, "html": html, "id": sf.get_full_id(m),
            "css_links": list(dict.fromkeys(css)), "js_links": list(dict.fromkeys(js)),
            "digest": hashlib.sha256(script.encode()).hexdigest()[:16]}


def _walk(element: Any) -> Any:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def show(prepared: dict[str, Any], *, key: str, height: int = 560) -> dict[str, Any]:
    """Draw a prepared map; returns what the user last clicked (``{"last_active_drawing": ...}``)."""
    from streamlit_folium import _component_func

    value = _component_func(
        script=prepared["script"], header=prepared["header"], html=prepared["html"], id=prepared["id"],
        key=f"{key}-{prepared['digest']}", height=height, width=None, returned_objects=RETURNED,
        default={name: None for name in RETURNED}, zoom=None, center=None, feature_group=None,
        return_on_hover=False, layer_control=None, pixelated=False, css_links=prepared["css_links"],
        js_links=prepared["js_links"], wrap_longitude=False)
    return value if isinstance(value, dict) else {}
