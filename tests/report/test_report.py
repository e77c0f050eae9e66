from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import hyperdial
from hyperdial import TrialState, analysis
from hyperdial.exceptions import InvalidValueError, MissingDependencyError
from hyperdial.report import render as report_render
from hyperdial.report import render_html, render_markdown, write_report
from hyperdial.samplers import RandomSampler

SECTIONS = [
    "summary",
    "history",
    "parallel",
    "importance",
    "interactions",
    "contours",
    "slices",
    "intermediate",
    "pareto",
    "failures",
    "diagnostics",
    "convergence",
    "space",
    "reproducibility",
    "trials",
]


class _Links(HTMLParser):
    """Collect tags, their src/href attributes and the ids of sections and figures."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.sections: list[str] = []
        self.figures: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        self.links += [attrs[k] for k in ("src", "href") if attrs.get(k) is not None]
        if tag == "section":
            self.sections.append(attrs["id"])
        if "plotly-graph-div" in (attrs.get("class") or ""):
            self.figures.append(attrs["id"])


def parse(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


def section(page: str, key: str) -> str:
    return page.split(f'<section id="{key}">')[1].split("</section>")[0]


def test_html_is_self_contained_with_every_section(make_single):
    page = render_html(make_single())
    found = parse(page)
    assert found.sections == SECTIONS
    assert not [link for link in found.links if re.match(r"\s*(https?:)?//", link)]
    assert found.tags.isdisjoint({"link", "img", "iframe", "object", "embed"})
    assert page.count("* plotly.js v") == 1  # the bundle's banner: inlined once
    assert "cdn.plot.ly/plotly" not in page and "<script src" not in page
    assert len(found.figures) == len(set(found.figures)) >= 10
    for key in ("history", "parallel", "importance", "interactions", "contours", "slices"):
        assert "plotly-graph-div" in section(page, key), key
    assert "plotly-graph-div" in section(page, "intermediate")
    assert "plotly-graph-div" in section(page, "diagnostics")


def test_html_summary_names_the_best_trial_its_reason_and_explanation(make_single):
    study = make_single()
    summary = section(render_html(study), "summary")
    best = study.best_trial
    assert f"#{best.number}" in summary and f"{best.value:.6g}" in summary
    assert "Why the sampler proposed it: random" in summary
    assert analysis.explain_best(study).split("\n")[0][:40] in summary


def test_html_escapes_text_from_the_study():
    study = hyperdial.create_study(sampler=RandomSampler(seed=0))
    for _ in range(3):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        study.tell(trial, state=TrialState.FAILED, error="<script>alert(1)</script>")
    page = render_html(study)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section(page, "failures")
    assert "<script>alert(1)" not in page


def test_failures_group_prune_reasons_and_exception_lines(make_single):
    md = render_markdown(make_single())
    failures = md.split("## Failed and pruned trials")[1].split("## ")[0]
    assert "| pruned at step 3 (rung 0, resource 2) | 6 |" in failures
    assert "| FloatingPointError: loss is NaN | 3 | #5, #16, #27 |" in failures
    assert "| complete | 31 | 77.5% |" in failures


def test_markdown_has_the_same_sections_as_tables_without_figures(make_single):
    md = render_markdown(make_single())
    headings = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "Summary",
        "History",
        "Parallel coordinates",
        "Parameter importance",
        "Interactions",
        "Contours of the top pairs",
        "Slices",
        "Learning curves",
        "Pareto front",
        "Failed and pruned trials",
        "Diagnostics",
        "Convergence",
        "Suggested narrower space",
        "Reproducibility record",
        "Trials",
    ]
    for header in (
        "| parameter | share | ± std |",
        "| trial | new best |",
        "| parameter | with | share of variance |",
        "| verdict | trials |",
        "| parameter | searched | suggested | condition |",
        "| package | version |",
        "| # | state | value | lr | depth | kind | gamma | time | reason or error |",
    ):
        assert header in md, header
    assert "<div" not in md and "plotly" not in md.split("| package | version |")[0]
    assert "```yaml\nspace:" in md


def test_reproducibility_record_shows_what_the_study_stored(make_single):
    study = make_single()
    record = study.user_attrs["record"]
    md = render_markdown(study).split("## Reproducibility record")[1].split("## Trials")[0]
    assert "| seed | 0 |" in md and "| sampler | RandomSampler(seed=0) |" in md
    assert f"| Python | {record['environment']['python']} |" in md
    assert f"| numpy | {record['environment']['packages']['numpy']} |" in md
    assert "| lr | float [0.0001, 0.1] log | every trial |" in md
    assert re.search(r"\| gamma \| float \[0.01, 10\] log \| \d+ of 40 trials \|", md)
    fingerprint = study.user_attrs["data_fingerprint"]
    assert f"| sha256 | {fingerprint['sha256']} |" in md and "| source | tests |" in md
    assert "| working directory |" in md


def test_a_partial_record_says_not_recorded_for_the_rest(make_single):
    study = make_single(n_trials=8)
    study.set_user_attr("record", {"seed": 3, "environment": {"python": "3.99"}, "gpu": "none"})
    md = render_markdown(study).split("## Reproducibility record")[1]
    assert "| seed | 3 |" in md and "| Python | 3.99 |" in md and "| gpu | none |" in md
    assert "_Package versions: not recorded._" in md
    assert "_Command: not recorded._" in md
    history_md = render_markdown(study.history())
    assert "reproducibility record is not recorded" in history_md
    assert history_md.startswith("# Study report")


def test_multi_objective_report_has_a_front_and_a_best_per_objective(make_multi):
    study = make_multi(n_objectives=3)
    page = render_html(study)
    assert "plotly-graph-div" in section(page, "pareto")
    summary = section(page, "summary")
    assert "Best trial of each objective" in summary and "Objective 2: " in summary
    md = render_markdown(study)
    front = {t.number for t in study.best_trials}
    rows = md.split("**Trials on the front")[1].split("\n\n")[1].splitlines()[2:]
    assert {int(r.split("|")[1].strip(" #")) for r in rows} == front
    assert "values" in md.split("## Trials")[1].splitlines()[4]


def test_sections_degrade_to_notes_on_tiny_and_empty_studies():
    empty = hyperdial.create_study("empty", sampler=RandomSampler(seed=0))
    page = render_html(empty)
    assert parse(page).sections == SECTIONS
    assert "No trial has completed yet" in section(page, "summary")
    assert "The study has no trials." in section(page, "trials")
    tiny = hyperdial.create_study("tiny", sampler=RandomSampler(seed=0))
    tiny.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    md = render_markdown(tiny)
    assert "_Not computed: importance needs at least" in md
    assert "_Not available: diagnose: no COMPLETE trial recorded its training" in md
    assert "_Not available: convergence needs at least 5 completed trials" in md
    assert "_No trial reported intermediate values._" in md
    assert "_The study has one objective; its best trial is above._" in md
    assert "_No trial was pruned or failed._" in md


def test_an_analysis_that_raises_becomes_a_note(make_single, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the forest caught fire")

    monkeypatch.setattr(analysis, "importance_details", broken)
    monkeypatch.setattr(analysis, "interactions", broken)
    page = render_html(make_single())
    assert "Not computed: RuntimeError: the forest caught fire" in section(page, "importance")
    assert "plotly-graph-div" in section(page, "contours")  # falls back to ranked pairs
    assert "plotly-graph-div" in section(page, "slices")


def test_a_section_that_breaks_does_not_sink_the_report(make_single, monkeypatch):
    def broken(ctx):
        raise KeyError("surprise")

    sections = list(report_render._SECTIONS)
    sections[1] = ("history", "History", broken)
    monkeypatch.setattr(report_render, "_SECTIONS", tuple(sections))
    page = render_html(make_single(n_trials=10))
    assert "Not shown: KeyError: &#x27;surprise&#x27;" in section(page, "history")
    assert "plotly-graph-div" in section(page, "parallel")


def test_the_trials_table_lists_the_best_hundred():
    study = hyperdial.create_study("many", sampler=RandomSampler(seed=1))
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=130)
    md = render_markdown(study).split("## Trials")[1]
    rows = [line for line in md.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 100 and "**100 of 130 trials (best first)**" in md
    values = [float(r.split("|")[3]) for r in rows]
    assert values == sorted(values) and values[0] == pytest.approx(study.best_value, rel=1e-5)


def test_reports_are_deterministic(make_single):
    study = make_single(n_trials=12)
    assert render_html(study) == render_html(study)


def test_write_report_writes_both_formats(make_single, tmp_path):
    study = make_single(n_trials=10)
    html = write_report(study, tmp_path / "r.html")
    md = write_report(study, str(tmp_path / "r.md"), format="md")
    assert isinstance(html, Path) and html.read_text(encoding="utf-8").startswith("<!DOCTYPE")
    assert md == tmp_path / "r.md" and md.read_text(encoding="utf-8").startswith("# Study tuned")


def test_html_needs_plotly_but_markdown_does_not(make_single, monkeypatch):
    study = make_single(n_trials=8)
    for module in ("plotly.offline", "plotly.graph_objects"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'hyperdial\[report\]'"):
        render_html(study)
    assert "## Trials" in render_markdown(study)


def test_write_report_rejects_bad_arguments(make_single, tmp_path):
    study = make_single(n_trials=4)
    with pytest.raises(InvalidValueError, match="format must be 'html' or 'md'; got 'pdf'"):
        write_report(study, tmp_path / "r.pdf", format="pdf")
    with pytest.raises(TypeError, match="path must be a str or a path; got int"):
        write_report(study, 3)
    with pytest.raises(TypeError, match="render_html: study must be a Study or a History"):
        render_html("tuned")
