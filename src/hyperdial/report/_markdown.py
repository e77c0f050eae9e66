"""Lay a report's sections out as Markdown: tables and text, no figures (for papers)."""

from __future__ import annotations

from collections.abc import Sequence

from hyperdial.report import _blocks as b


def _cell(text: str) -> str:
    flat = "<br>".join(line.strip() for line in str(text).splitlines()) or " "
    return flat.replace("|", "\\|")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str) -> str:
    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(_cell(h) for h in headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _block(block: b.Block) -> str:
    if isinstance(block, b.Chart):
        return ""
    if isinstance(block, b.Table):
        if block.only == "html":
            return ""
        return _table(block.headers, block.rows, block.caption)
    if isinstance(block, b.Pairs):
        return _table(["", ""], block.rows, block.caption)
    if isinstance(block, b.Note):
        return f"_{block.text.strip()}_"
    if isinstance(block, b.Code):
        return f"```{block.language}\n{block.text.rstrip()}\n```"
    return "  \n".join(line.rstrip() for line in block.text.strip().splitlines())


def render(title: str, subtitle: str, sections: Sequence[b.Section]) -> str:
    """Return the report as one Markdown document."""
    parts = [f"# {title}", subtitle]
    for section in sections:
        parts.append(f"## {section.title}")
        parts += [text for text in (_block(block) for block in section.blocks) if text]
    return "\n\n".join(parts) + "\n"
