"""Lay a report's sections out as one self-contained HTML page.

plotly.js is inlined once in the head; each chart is a div and a call to ``Plotly.newPlot``.
The page references nothing outside itself, so it opens offline and behind firewalls.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence

from hyperdial.exceptions import missing
from hyperdial.report import _blocks as b

_logger = logging.getLogger(__name__)

_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False}

_CSS = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #dde3ea; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #f6f8fa; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: var(--muted); }
.layout { display: flex; align-items: flex-start; gap: 24px; padding: 24px 32px; }
nav { position: sticky; top: 16px; flex: 0 0 210px; background: #fff; border: 1px solid
  var(--line); border-radius: 8px; padding: 12px 16px; font-size: 14px; }
nav ol { margin: 0; padding-left: 20px; }
nav a { color: var(--ink); text-decoration: none; }
nav a:hover { color: var(--accent); }
main { flex: 1 1 auto; min-width: 0; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 24px 20px; margin-bottom: 20px; }
section h2 { font-size: 19px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
p.text { white-space: pre-line; }
p.note { color: var(--muted); font-style: italic; }
pre { background: #f3f5f7; border: 1px solid var(--line); border-radius: 6px; padding: 10px;
  overflow-x: auto; font-size: 13px; }
.table { overflow-x: auto; margin: 12px 0; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left;
  vertical-align: top; }
th { background: #f3f5f7; white-space: nowrap; }
td { white-space: nowrap; }
td:last-child { white-space: normal; max-width: 520px; overflow-wrap: break-word; }
table.pairs th { text-align: left; font-weight: 600; background: none; }
.chart { margin: 8px 0 16px; min-height: 200px; }
@media (max-width: 900px) { .layout { display: block; } nav { position: static; } }
"""


def plotly_js() -> str:
    """Return the plotly.js bundle shipped with plotly (needs the ``[report]`` extra)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise missing("report", "render_html", "plotly") from None
    return str(get_plotlyjs())


def _dom_id(key: str) -> str:
    return "fig-" + re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")


def _cell(text: str) -> str:
    return html.escape(str(text))


def _table(table: b.Table) -> str:
    head = "".join(f"<th>{_cell(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    caption = f"<caption>{_cell(table.caption)}</caption>" if table.caption else ""
    return (
        f'<div class="table"><table>{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _pairs(pairs: b.Pairs) -> str:
    rows = "".join(f"<tr><th>{_cell(k)}</th><td>{_cell(v)}</td></tr>" for k, v in pairs.rows)
    caption = f"<caption>{_cell(pairs.caption)}</caption>" if pairs.caption else ""
    return f'<div class="table"><table class="pairs">{caption}<tbody>{rows}</tbody></table></div>'


def _chart(chart: b.Chart, used: set[str]) -> str:
    try:
        figure = chart.make()
    except Exception as exc:  # noqa: BLE001 - a figure that cannot be drawn becomes a note
        _logger.debug("report: figure %s failed", chart.key, exc_info=True)
        return f'<p class="note">Figure not drawn: {_cell(b.why(exc))}</p>'
    dom_id = _dom_id(chart.key)
    while dom_id in used:
        dom_id += "-x"
    used.add(dom_id)
    markup = figure.to_html(full_html=False, include_plotlyjs=False, div_id=dom_id, config=_CONFIG)
    return f'<div class="chart">{markup}</div>'


def _block(block: b.Block, used: set[str]) -> str:
    if isinstance(block, b.Table):
        return "" if block.only == "md" else _table(block)
    if isinstance(block, b.Pairs):
        return _pairs(block)
    if isinstance(block, b.Chart):
        return _chart(block, used)
    if isinstance(block, b.Note):
        return f'<p class="note">{_cell(block.text)}</p>'
    if isinstance(block, b.Code):
        return f"<pre><code>{_cell(block.text)}</code></pre>"
    return f'<p class="text">{_cell(block.text)}</p>'


def render(title: str, subtitle: str, sections: Sequence[b.Section], script: str) -> str:
    """Return the whole page: head with styles and ``script`` (plotly.js), then the sections."""
    used: set[str] = set()
    contents = "".join(
        f'<li><a href="#{_cell(s.key)}">{_cell(s.title)}</a></li>' for s in sections
    )
    parts = []
    for section in sections:
        inner = "".join(_block(block, used) for block in section.blocks)
        parts.append(
            f'<section id="{_cell(section.key)}"><h2>{_cell(section.title)}</h2>{inner}</section>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_cell(title)}</title>\n<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{script}</script>\n</head>\n<body>\n'
        f"<header><h1>{_cell(title)}</h1><p>{_cell(subtitle)}</p></header>\n"
        f'<div class="layout"><nav><strong>Contents</strong><ol>{contents}</ol></nav>\n'
        f"<main>\n{chr(10).join(parts)}\n</main></div>\n</body>\n</html>\n"
    )
