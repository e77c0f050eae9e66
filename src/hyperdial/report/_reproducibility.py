"""The reproducibility section: settings, space, environment, data and command of a study.

It reads the study attributes ``record`` (kept by ``create_study``), ``data_fingerprint``
(kept by integrations that saw the data), ``seed``, ``methods``, ``scheduler`` and
``heartbeat``; whatever is missing reads "not recorded".
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from hyperdial._types import JSON
from hyperdial.plot import _common as plot_common
from hyperdial.report import _blocks as b

_STUDY_KEYS = ("seed", "sampler", "scheduler", "directions", "created_at")
_ENVIRONMENT_KEYS = (
    ("python", "Python"),
    ("implementation", "implementation"),
    ("platform", "platform"),
    ("machine", "machine"),
    ("processor", "processor"),
    ("cpu_count", "CPUs"),
    ("memory_bytes", "memory"),
)
_RECORD_SECTIONS = ("environment", "invocation")


def _mapping(value: JSON) -> Mapping[str, JSON]:
    return value if isinstance(value, Mapping) else {}


def _memory(value: JSON) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value / 2**30:.1f} GiB"
    return b.json_text(value)


def _first(*candidates: JSON) -> str:
    for value in candidates:
        if value is not None:
            return b.json_text(value)
    return b.NOT_RECORDED


def _settings(ctx: b.Context, record: Mapping[str, JSON]) -> b.Pairs:
    methods = _mapping(ctx.attrs.get("methods"))
    scheduler_now = _mapping(ctx.attrs.get("scheduler")).get("now")
    directions = record.get("directions") or [d.value for d in ctx.directions]
    rows = [
        ("study", ctx.name or "-"),
        ("seed", _first(record.get("seed"), ctx.attrs.get("seed"))),
        ("created", _first(record.get("created_at"))),
        ("directions", b.json_text(directions)),
        ("sampler", _first(record.get("sampler"), methods.get("sampler"))),
        ("scheduler settings", _first(record.get("scheduler"), methods.get("scheduler"))),
        ("scheduler decision", _first(scheduler_now)),
    ]
    heartbeat = ctx.attrs.get("heartbeat", record.get("heartbeat"))
    if heartbeat is not None:
        rows.append(("heartbeat", b.json_text(heartbeat)))
    elif "heartbeat" in record:
        rows.append(("heartbeat", "off"))
    known = {*_STUDY_KEYS, *_RECORD_SECTIONS, "heartbeat"}
    rows += [(str(k), b.json_text(v)) for k, v in record.items() if k not in known]
    return b.Pairs(rows, caption="Study settings")


def _space(ctx: b.Context) -> b.Block:
    names = [n for t in ctx.history.trials for n in t.params]
    if not names:
        return b.Note("Search space: no trial has parameters yet.")
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    with_params = sum(bool(t.params) for t in ctx.history.trials)
    rows = []
    for name in plot_common.param_names(ctx.history, None, "write_report"):
        dist = plot_common.distribution_of(ctx.history, name)
        seen = counts[name]
        where = "every trial" if seen == with_params else f"{seen:,} of {with_params:,} trials"
        rows.append([name, b.describe(dist), where])
    return b.Table(["parameter", "distribution", "set in"], rows, caption="Search space")


def _environment(record: Mapping[str, JSON]) -> list[b.Block]:
    environment = _mapping(record.get("environment"))
    if not environment:
        return [b.Note(f"Environment (Python, platform, hardware, packages): {b.NOT_RECORDED}.")]
    rows = []
    for key, label in _ENVIRONMENT_KEYS:
        value = environment.get(key)
        rows.append((label, _memory(value) if key == "memory_bytes" else b.json_text(value)))
    known = {k for k, _ in _ENVIRONMENT_KEYS} | {"packages"}
    rows += [(str(k), b.json_text(v)) for k, v in environment.items() if k not in known]
    blocks: list[b.Block] = [b.Pairs(rows, caption="Environment")]
    packages = _mapping(environment.get("packages"))
    if packages:
        table = [[str(k), str(v)] for k, v in sorted(packages.items())]
        blocks.append(b.Table(["package", "version"], table, caption="Package versions"))
    else:
        blocks.append(b.Note(f"Package versions: {b.NOT_RECORDED}."))
    return blocks


def _data(ctx: b.Context) -> b.Block:
    data = _mapping(ctx.attrs.get("data_fingerprint"))
    if not data:
        return b.Note(f"Data fingerprint: {b.NOT_RECORDED}.")
    rows = [(k, b.json_text(data.get(k))) for k in ("sha256", "shapes", "dtypes", "source")]
    rows += [(str(k), b.json_text(v)) for k, v in data.items() if k not in dict(rows)]
    return b.Pairs(rows, caption="Data fingerprint")


def _command(record: Mapping[str, JSON]) -> list[b.Block]:
    invocation = _mapping(record.get("invocation"))
    if not invocation:
        return [b.Note(f"Command: {b.NOT_RECORDED}.")]
    raw = invocation.get("argv")
    argv = [str(a) for a in raw] if isinstance(raw, list) else []
    command = shlex.join(argv) if argv else None
    rows = [
        ("command", command or b.NOT_RECORDED),
        ("working directory", b.json_text(invocation.get("cwd"))),
        ("script", b.json_text(invocation.get("script"))),
        ("script SHA-256", b.json_text(invocation.get("script_sha256"))),
    ]
    known = {"argv", "cwd", "script", "script_sha256"}
    rows += [(str(k), b.json_text(v)) for k, v in invocation.items() if k not in known]
    blocks: list[b.Block] = [b.Pairs(rows, caption="Command")]
    cwd = invocation.get("cwd")
    if command:
        again = command
        if argv[0].endswith(".py"):  # a script run by Python
            again = f"python {command}"
        if isinstance(cwd, str):
            again = f"cd {shlex.quote(cwd)} && {again}"
        blocks.append(b.Code(again, "sh"))
    return blocks


def reproducibility(ctx: b.Context) -> b.Section:
    """Return what is needed to run the study again and to trust its numbers."""
    section = b.Section("reproducibility", "Reproducibility record")
    record: Mapping[str, Any] = _mapping(ctx.attrs.get("record"))
    if not record:
        section.blocks.append(
            b.Note(
                f"The study's reproducibility record is {b.NOT_RECORDED}; the settings below "
                "come from the study's other attributes."
            )
        )
    section.blocks.append(_settings(ctx, record))
    section.blocks.append(_space(ctx))
    section.blocks.extend(_environment(record))
    section.blocks.append(_data(ctx))
    section.blocks.extend(_command(record))
    return section
