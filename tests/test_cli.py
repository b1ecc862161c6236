"""The command line: `validate` (exit codes, report, no traceback) and `generate` argument parsing."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from broken_folders import CASES, make_folder, matching_issues

from novamart_panel import cli
from novamart_panel.data.store import DataStore

REPO = Path(__file__).resolve().parents[1]


def test_validate_the_reference_folder_exits_0(reference_dir, capsys):
    assert cli.main(["validate", str(reference_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.rstrip().endswith("Result: the folder meets the contract.")
    for name in ("campaign_performance.csv", "correlation_matrix.csv"):
        assert any(line.startswith(name) and " ok " in line for line in out.splitlines())


@pytest.mark.parametrize("name", list(CASES))
def test_validate_a_broken_folder_names_the_problem_and_exits_1_on_errors(name, reference_dir, tmp_path, capsys):
    case = CASES[name]
    folder = make_folder(reference_dir, tmp_path / "data", case)
    assert cli.main(["validate", str(folder)]) == (1 if case.severity == "error" else 0)
    out, err = capsys.readouterr()
    assert err == "" and "Traceback" not in out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out), "raw control bytes printed"
    if case.severity is None:
        assert f"{case.file}: " not in out
        return
    (issue, *_) = matching_issues(DataStore(folder).report, case)
    assert f"{case.severity.upper()}: {issue}" in out
    assert ("does NOT meet the contract" in out) == (case.severity == "error")


def test_validate_a_folder_that_does_not_exist(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "nowhere")]) == 1
    out, _ = capsys.readouterr()
    assert f"ERROR: {tmp_path / 'nowhere'}: folder does not exist" in out


def test_validate_as_a_real_process_prints_no_traceback(reference_dir, tmp_path):
    folder = make_folder(reference_dir, tmp_path / "data", CASES["row with too many fields"])
    CASES["text in a number column"].inject(folder)
    done = subprocess.run([sys.executable, "-m", "novamart_panel.cli", "validate", str(folder)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "geographic_data.csv, row 4: row(s) with more fields than the header's 12" in done.stdout
    assert "campaign_performance.csv, column spend, row 7: 1 value(s) are not a number" in done.stdout


def test_validate_needs_a_folder(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["validate"])
    assert stop.value.code == 2
    assert "folder" in capsys.readouterr().err


def test_generate_arguments():
    args = cli.build_parser().parse_args(["generate", "--out", "x", "--seed", "7", "--scale", "0.5", "--no-optional"])
    assert (args.out, args.seed, args.scale, args.no_optional, args.run) == ("x", 7, 0.5, True, cli._generate)
    defaults = cli.build_parser().parse_args(["generate", "--out", "y"])
    assert (defaults.seed, defaults.scale, defaults.no_optional) == (42, 1.0, False)
    assert (defaults.campaign_rows, defaults.customers, defaults.orders) == (None, None, None)
    sized = cli.build_parser().parse_args(["generate", "--out", "z", "--campaign-rows", "10_000_000",
                                           "--customers", "1,000,000", "--orders", "2500000"])
    assert (sized.campaign_rows, sized.customers, sized.orders) == (10_000_000, 1_000_000, 2_500_000)


def test_generate_sizes_each_part_on_its_own(tmp_path, capsys):
    out = tmp_path / "sized"
    assert cli.main(["generate", "--out", str(out), "--campaign-rows", "1234", "--customers", "321",
                     "--orders", "2000"]) == 0
    assert f"Wrote 14 files to {out}" in capsys.readouterr().out

    def rows(name):
        with open(out / name, encoding="utf-8") as handle:
            return sum(1 for _ in handle) - 1
    assert (rows("campaign_performance.csv"), rows("customer_data.csv"), rows("orders.csv")) == (1234, 321, 2000)
    assert rows("lead_scoring_results.csv") == 2000   # --scale's parts keep their size
    assert cli.main(["generate", "--out", str(out), "--customers", "500", "--orders", "100"]) == 2
    assert "orders must be at least the number of customers (500)" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["generate"], ["generate", "--out", "x", "--seed", "seven"],
                                  ["generate", "--out", "x", "--scale", "big"],
                                  ["generate", "--out", "x", "--campaign-rows", "0"],
                                  ["generate", "--out", "x", "--customers", "many"]])
def test_generate_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert "usage: novamart-panel generate" in capsys.readouterr().err


def test_serve_runs_panel_serve_with_the_setup_script(monkeypatch, tmp_path):
    """`novamart-panel serve` hands `panel serve` the entry script and the once-per-process setup script."""
    commands = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command, env: commands.append((command, env)) or 0)
    assert cli.main(["serve", "--port", "5099", "--data", str(tmp_path)]) == 0
    (command, env), = commands
    assert command[:5] == [sys.executable, "-m", "panel", "serve", str(cli.SERVE_SCRIPT)]
    assert command[command.index("--setup") + 1] == str(cli.SETUP_SCRIPT) and cli.SETUP_SCRIPT.is_file()
    assert command[command.index("--port") + 1] == "5099" and env["NOVAMART_DATA"] == str(tmp_path.resolve())


def test_the_setup_script_freezes_the_objects_alive_at_start():
    """After the setup script, the objects of the imported libraries are out of the collector's full passes."""
    code = (f"import gc, runpy; runpy.run_path({str(cli.SETUP_SCRIPT)!r}); "
            "import sys; assert 'holoviews.plotting.bokeh' in sys.modules; print(gc.get_freeze_count())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 100_000
