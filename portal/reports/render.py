"""HTML → PDF: print templates rendered here, turned into PDF by the renderer process.

- WeasyPrint runs in one shared, recycled process (portal/reports/renderer.py), never in a web
  worker: its memory would stay in the worker for good. PDF_RENDERER = "inline" renders in this
  process instead (a one-off script, or to compare timings).
- Resources load only through `StaticOnlyFetcher`: files under portal/static (by `/static/…`
  URL or a file:// path inside it) and data: URIs. No network, no other file.
- Fonts come from fontconfig (Noto Sans CJK from fonts-noto-cjk); WeasyPrint subsets them with
  HarfBuzz when libharfbuzz-subset is present (fontTools otherwise: much slower for CJK).
"""
import re

from flask import current_app, make_response, render_template
from markupsafe import Markup
from werkzeug.exceptions import ServiceUnavailable

from portal.reports import renderer_client
from portal.reports.renderer import STATIC_ROOT, FetchRefused, fetch_static, render_here  # noqa: F401

__all__ = ["STATIC_ROOT", "FetchRefused", "fetch_static", "html_to_pdf", "render_pdf", "PrintoutUnavailable"]


class PrintoutUnavailable(ServiceUnavailable):
    """The renderer could not make the PDF: a page that says so (503), in the user's language.
    In the Huey worker it is an ordinary exception: the print job fails and says why."""

    def get_response(self, environ=None, scope=None):
        return make_response(render_template("print/unavailable.html"), 503, {"Retry-After": "30"})


def html_to_pdf(html: str) -> bytes:
    """HTML → PDF in this process (the renderer's own code path, without the process)."""
    return render_here(html)


def pdf_of_html(html: str) -> bytes:
    config = current_app.config
    if config.get("PDF_RENDERER") == "inline":
        return render_here(html)
    try:
        return renderer_client.render(html, renderer_client.Settings.from_config(config))
    except renderer_client.RendererUnavailable as exc:
        current_app.logger.error("printout not made: %s", exc)
        raise PrintoutUnavailable(str(exc)) from exc


def render_pdf(template: str, **context) -> bytes:
    """Render a print template (in the current locale) and turn it into a PDF."""
    html = render_template(template, static_css=static_css_url, **context)
    return pdf_of_html(html)


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
