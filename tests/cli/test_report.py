"""``hyperdial report``: writes a study's HTML or Markdown report; errors are one line."""

from __future__ import annotations

import pytest

import hyperdial
from hyperdial.samplers import RandomSampler


@pytest.fixture
def stored(db):
    """A SQLite database holding the study 'lr search/1' with 8 trials."""
    study = hyperdial.create_study("lr search/1", storage=db, sampler=RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("lr", 1e-4, 1e-1, log=True) - 0.01) ** 2, 8)
    return db


def one_error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_report_writes_html_next_to_the_caller_by_default(stored, run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("report", "lr search/1", "--storage", stored)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "lr_search_1-report.html"
    page = (tmp_path / "lr_search_1-report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<h1>Study lr search/1</h1>" in page


@pytest.mark.parametrize(
    ("args", "name"),
    [
        pytest.param(["--format", "md"], "lr_search_1-report.md", id="format"),
        pytest.param(["-o", "paper.md"], "paper.md", id="suffix"),
        pytest.param(["-o", "page.txt", "-f", "md"], "page.txt", id="both"),
    ],
)
def test_report_writes_markdown(stored, run_cli, tmp_path, monkeypatch, args, name):
    monkeypatch.chdir(tmp_path)
    result = run_cli("report", "lr search/1", "--storage", stored, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == name
    text = (tmp_path / name).read_text(encoding="utf-8")
    assert text.startswith("# Study lr search/1") and "| # | state | value | lr |" in text


def test_report_to_a_chosen_html_path(stored, run_cli, tmp_path):
    out = tmp_path / "out" / "r.html"
    out.parent.mkdir()
    result = run_cli("report", "lr search/1", "--storage", stored, "-o", out)
    assert result.exit_code == 0 and result.stdout.strip() == str(out)
    assert out.read_text(encoding="utf-8").count("* plotly.js v") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["nope"], "No study named 'nope'", id="unknown-study"),
        pytest.param(["lr search/1", "--format", "pdf"], "'pdf' is not one of", id="format"),
        pytest.param(["lr search/1", "-o", "/nonexistent/dir/r.html"], "No such file", id="path"),
    ],
)
def test_report_errors_are_one_line(stored, run_cli, args, message):
    result = run_cli("report", *args, "--storage", stored)
    assert result.exit_code == 2
    assert message in one_error_line(result)


def test_report_without_a_database_is_one_line(run_cli, tmp_path):
    result = run_cli("report", "demo", "--storage", f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 2
    assert "no database at" in one_error_line(result)
    assert not (tmp_path / "none.db").exists()


def test_report_is_listed_in_the_help(run_cli):
    result = run_cli("--help")
    assert result.exit_code == 0 and "report" in result.stdout
