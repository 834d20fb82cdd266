"""HTML → PDF with WeasyPrint.

- Resources load only through `StaticOnlyFetcher`: files under portal/static (by `/static/…`
  URL or a file:// path inside it) and data: URIs. No network, no other file.
- Fonts come from fontconfig (Noto Sans CJK from fonts-noto-cjk); WeasyPrint subsets them with
  HarfBuzz when libharfbuzz-subset is present (fontTools otherwise: much slower for CJK).
- One FontConfiguration per process: fontconfig's scan is done once, not per printout.
"""
import mimetypes
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from markupsafe import Markup

STATIC_ROOT = (Path(__file__).resolve().parent.parent / "static").resolve()
_local = threading.local()


class FetchRefused(Exception):
    """A printout asked for something outside the app's static files."""


def _static_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise FetchRefused(url)
        path = Path(unquote(parts.path))
    elif parts.scheme == "" and parts.path.startswith("/static/"):
        path = STATIC_ROOT / unquote(parts.path[len("/static/"):])
    else:
        raise FetchRefused(url)
    resolved = path.resolve()
    if resolved != STATIC_ROOT and STATIC_ROOT not in resolved.parents:
        raise FetchRefused(url)
    if not resolved.is_file():
        raise FetchRefused(url)
    return resolved


def fetch_static(url: str) -> tuple[bytes, str]:
    """(body, mime type) of an allowed URL; FetchRefused for anything else."""
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher
        result = default_url_fetcher(url)
        return result["string"], result.get("mime_type", "")
    path = _static_path(url)
    return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            body, mime = fetch_static(url)
            return URLFetcherResponse(url, body, headers={"Content-Type": mime})
    return StaticOnlyFetcher


def url_fetcher():
    if not hasattr(_local, "fetcher"):
        _local.fetcher = _fetcher_class()()
    return _local.fetcher


def font_config():
    if not hasattr(_local, "fonts"):
        from weasyprint.text.fonts import FontConfiguration
        _local.fonts = FontConfiguration()
    return _local.fonts


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    document = HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=url_fetcher())
    return document.write_pdf(font_config=font_config())


def render_pdf(template: str, **context) -> bytes:
    """Render a print template (in the current locale) and turn it into a PDF."""
    html = render_template(template, static_css=static_css_url, **context)
    return html_to_pdf(html)


def static_css_url(name: str) -> str:
    """Stylesheets for printouts are linked by file:// path inside static/ (the fetcher's only source)."""
    return (STATIC_ROOT / "css" / name).as_uri()


# --- the on-screen odontogram, made printable ------------------------------------------------

_ODONTOGRAM_STYLE = """<style>
.midline{stroke:#94a3b8;stroke-dasharray:4 4}.occlusal{stroke:#cbd5e1}
.side{font-size:12px;fill:#64748b;font-weight:700}.hit{fill:none;stroke:none}
.num{font-size:13px;font-weight:700;fill:#0f172a}.primary .num{font-style:italic;fill:#7c3aed}
.surface{stroke:#334155;stroke-width:1}.root{fill:#f8fafc;stroke:#94a3b8}.rct{stroke-width:3}
.implant line{stroke-width:2.5}.lesion{fill:none;stroke-width:2}.crown{fill:none;stroke-width:3}
.gone line{stroke-width:3}.gone.planned line{stroke-dasharray:4 3}
.state-absent .surface{fill:#f1f5f9}.state-absent .root{opacity:.3}
.state-unerupted .surface{stroke-dasharray:3 2;fill:#fff}
.codes{font-size:10.5px;font-weight:700;fill:#0f172a}
text{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif}
</style>"""
_STAFF_ATTRS = re.compile(r'\s(?:href|hx-get|hx-target)="[^"]*"')


def odontogram_svg(patient, on) -> Markup:
    """The chart area's own odontogram (services.chart.build + svg.layout + the
    chart/_odontogram.html macro), with the staff links taken out (tooth groups instead of
    links) and its styles inlined, so it prints and shows the same on the patient's page."""
    from portal.blueprints.chart import svg
    from portal.services import chart as charts
    view = charts.build(patient, on)
    macro = current_app.jinja_env.get_template("chart/_odontogram.html").module.odontogram
    env = current_app.jinja_env.globals
    markup = str(macro(svg.layout(view), patient, on, svg.WIDTH, svg.HEIGHT, env["chart_colours"],
                       env["chart_surface_kinds"]))
    markup = _STAFF_ATTRS.sub("", markup)
    markup = re.sub(r"<a(\s)", r"<g\1", markup).replace("</a>", "</g>")
    markup = markup.replace(">", ">" + _ODONTOGRAM_STYLE, 1)
    return Markup(markup), view


def qr_svg(data: str, scale: int = 3) -> Markup:
    """A QR code as inline SVG (segno), dark on white."""
    import io

    import segno
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True,
                                     svgclass="qr", lineclass=None, omitsize=False)
    return Markup(out.getvalue().decode("utf-8"))
