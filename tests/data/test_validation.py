"""The validation report: header and value checks by hand, then a corpus of broken folders."""
from __future__ import annotations

import csv

import duckdb
import pandas as pd
import pytest
from broken_folders import (CASES, HOSTILE_TEXT, SHORT, cell, copy_folder, make_folder, matching_issues, read_rows,
                            set_cell, write_rows)

from novamart_panel.data.contract import BY_TABLE, CAMPAIGNS, FUNNEL, REQUIRED_FILES, Column, FileSpec
from novamart_panel.data.store import DataStore
from novamart_panel.data.validation import (ERROR, WARNING, FileReport, Issue, ValidationReport, check_header,
                                            column_bounds, value_checks)

TOY = FileSpec("toy", "toy.csv", (Column("id"), Column("share", "DOUBLE", min=0, max=100),
                                  Column("day", values=("Mon", "Tue")), Column("note", nullable=True)),
               key=("id",))


# -- header checks ------------------------------------------------------------------------------
def test_a_header_in_contract_order_has_no_issue():
    assert check_header(FUNNEL, ["stage", "visitors", "conversion_rate"]) == []


def test_missing_extra_and_repeated_columns_are_named():
    issues = check_header(FUNNEL, ["stage", "visitors", "visitors", "notes"])
    found = {(i.column, i.message, i.severity) for i in issues}
    assert found == {("conversion_rate", "column is missing", ERROR),
                     ("notes", "column is not in the contract (it is ignored)", WARNING),
                     ("visitors", "column appears twice", ERROR)}
    assert all(i.file == "funnel_data.csv" for i in issues)


def test_columns_out_of_order_are_only_a_warning():
    (issue,) = check_header(FUNNEL, ["visitors", "stage", "conversion_rate"])
    assert issue.severity == WARNING and "out of order" in issue.message


def test_the_correlation_matrix_needs_an_unnamed_label_column_and_two_metrics():
    spec = BY_TABLE["correlations"]
    assert check_header(spec, ["", "Spend", "Clicks"]) == []
    assert [i.column for i in check_header(spec, ["label", "Spend", "Clicks"])] == ["label"]
    assert "at least two" in check_header(spec, ["", "Spend"])[0].message


# -- value checks on a hand-made table ---------------------------------------------------------
@pytest.fixture()
def toy_cursor():
    con = duckdb.connect()
    con.execute("CREATE TABLE toy (id VARCHAR, share DOUBLE, day VARCHAR, note VARCHAR)")
    con.executemany("INSERT INTO toy VALUES (?, ?, ?, ?)", [
        ("a", 10.0, "Mon", None),    # row 1: fine (note may be empty)
        ("b", 150.0, "Tue", "x"),    # row 2: share above 100
        ("c", None, "Wed", "y"),     # row 3: share empty, day not allowed
        ("a", -1.0, "Mon", "z"),     # row 4: share below 0, repeats key a (row 1)
    ])
    yield con
    con.close()


def test_value_checks_name_column_row_and_values(toy_cursor):
    issues = {i.check: i for i in value_checks(toy_cursor, TOY, "toy", list(TOY.columns))}
    assert set(issues) == {"nulls", "range", "values", "duplicates"}
    assert (issues["nulls"].column, issues["nulls"].row) == ("share", 3)
    assert (issues["range"].column, issues["range"].row) == ("share", 2)
    assert "2 value(s)" in issues["range"].message and "row 2: 150.0, row 4: -1.0" in issues["range"].message
    assert (issues["values"].column, issues["values"].row) == ("day", 3)
    assert "'Wed'" in issues["values"].message
    assert (issues["duplicates"].column, issues["duplicates"].row) == ("id", 4)
    assert "a ×2 (rows 1…4)" in issues["duplicates"].message


def test_column_bounds_default_to_infinity():
    assert column_bounds(Column("x", "DOUBLE", min=0)) == (0, float("inf"))
    assert column_bounds(Column("x", "DOUBLE", max=5)) == (float("-inf"), 5)


# -- the report objects --------------------------------------------------------------------------
def test_issue_text_names_file_column_and_row():
    assert str(Issue("a.csv", "is bad", column="spend", row=7)) == "a.csv, column spend, row 7: is bad"
    assert str(Issue("a.csv", "is missing")) == "a.csv: is missing"
    assert str(Issue("c.csv", "x", column="")) == "c.csv, column (unnamed): x"


def test_report_frames_and_text():
    report = ValidationReport(folder="/data")
    good, bad = FileReport(FUNNEL, present=True, usable=True, rows=6), FileReport(CAMPAIGNS, present=True)
    bad.issues.append(Issue("campaign_performance.csv", "column is missing", column="spend", check="columns"))
    good.issues.append(Issue("funnel_data.csv", "out of order", severity=WARNING, check="columns"))
    report.files.update(funnel=good, campaigns=bad)
    assert not report.ok and len(report.errors) == 1
    issues = report.to_frame()
    assert issues["row"].dtype == "Int64" and issues["row"].isna().all()
    assert issues[["severity", "file"]].values.tolist() == [["warning", "funnel_data.csv"],
                                                          ["error", "campaign_performance.csv"]]
    assert pd.isna(issues.loc[0, "column"]) and issues.loc[1, "column"] == "spend"
    summary = report.summary_frame().set_index("file")
    assert summary.loc["funnel_data.csv", "status"] == "ok"
    assert summary.loc["campaign_performance.csv", "status"] == "unusable"
    assert summary.loc["campaign_performance.csv", ["errors", "warnings"]].tolist() == [1, 0]
    text = report.format_text()
    assert "ERROR: campaign_performance.csv, column spend: column is missing" in text
    assert text.endswith("does NOT meet the contract (1 errors).")


# -- the reference folder and the corpus of broken folders -------------------------------------
def test_the_reference_folder_meets_the_contract(reference_store):
    report = reference_store.report
    assert report.ok, report.format_text()
    assert all(report.files[s.table].status == "ok" for s in REQUIRED_FILES)
    rows = {s.table: report.files[s.table].rows for s in REQUIRED_FILES}
    assert rows["campaigns"] == 5858 and rows["customers"] == 5000 and rows["products"] == 1440
    # product_sales repeats product_name × region × quarter across subcategories; the key includes it
    frame = pd.read_csv(reference_store.folder / "product_sales.csv")
    assert not frame.duplicated(["category", "subcategory", "product_name", "region", "quarter"]).any()
    assert [i.check for i in report.issues] == ["files"] * 3   # only the absent optional files


@pytest.mark.parametrize("name", list(CASES))
def test_each_problem_is_named_and_the_other_tables_still_load(name, reference_dir, tmp_path):
    case = CASES[name]
    folder = make_folder(reference_dir, tmp_path / "data", case)
    store = DataStore.open(folder)
    report = store.report
    if case.severity is None:   # unusual but valid: no issue at all for the file
        assert not [i for i in report.issues if i.file == case.file], report.format_text()
    else:
        assert matching_issues(report, case), f"{name}: no {case.severity} at {case}; got\n{report.format_text()}"
        assert report.ok == (case.severity == WARNING) or report.files[case.table].spec.required is False
    assert store.has(case.table) == case.usable
    assert report.files[case.table].usable == case.usable
    others = [s.table for s in REQUIRED_FILES if s.table != case.table]
    assert all(store.has(t) for t in others), [t for t in others if not store.has(t)]
    assert all(report.files[t].ok for t in others)
    if not case.usable:
        assert case.file in store.missing_message(case.table)
    if case.verify:
        case.verify(store, folder)


def test_the_corpus_is_large_and_names_every_kind_of_problem():
    assert len(CASES) >= 50
    assert {c.check for c in CASES.values()} >= {"files", "empty", "parse", "columns", "types", "range", "values",
                                                 "nulls", "duplicates", "consistency", "shape", None}
    assert {c.severity for c in CASES.values()} == {ERROR, WARNING, None}


def test_bad_cells_are_loaded_as_empty_and_the_rest_of_the_row_kept(reference_dir, tmp_path):
    folder = make_folder(reference_dir, tmp_path / "data", CASES["text in a number column"])
    store = DataStore.open(folder)
    row = store.query("SELECT spend, revenue, campaign_id FROM campaigns WHERE rowid = 6").iloc[0]
    expected = pd.read_csv(reference_dir / "campaign_performance.csv").iloc[6]
    assert pd.isna(row["spend"])
    assert row["revenue"] == expected["revenue"] and row["campaign_id"] == expected["campaign_id"]
    assert store.report.files["campaigns"].rows == SHORT


@pytest.mark.parametrize("inject", [
    pytest.param(lambda f: set_cell(f, "campaign_performance.csv", 5, "campaign_name", HOSTILE_TEXT), id="text"),
    pytest.param(lambda f: (f / "funnel_data.csv").write_bytes(b"\xef\xbb\xbf" + (f / "funnel_data.csv").read_bytes()),
                 id="utf8-bom"),
    pytest.param(lambda f: (f / "funnel_data.csv").write_bytes(
        (f / "funnel_data.csv").read_bytes().replace(b"\n", b"\r\n")), id="crlf"),
])
def test_unusual_but_valid_files_load_without_issue(inject, reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    inject(folder)
    store = DataStore.open(folder)
    assert store.report.ok, store.report.format_text()
    assert store.query("SELECT campaign_name FROM campaigns WHERE rowid = 4").iloc[0, 0] == cell(
        folder, "campaign_performance.csv", 5, "campaign_name")
    assert store.table("funnel")["stage"].tolist() == pd.read_csv(reference_dir / "funnel_data.csv")["stage"].tolist()


def test_a_folder_that_does_not_exist_is_one_clear_error(tmp_path):
    store = DataStore.open(tmp_path / "nowhere")
    (issue,) = store.report.errors
    assert issue.message == "folder does not exist" and issue.file == str(tmp_path / "nowhere")
    assert not any(store.has(s.table) for s in REQUIRED_FILES)
    (tmp_path / "file.csv").write_text("x\n")
    assert DataStore.open(tmp_path / "file.csv").report.errors[0].message == "is not a folder"


def test_a_large_rfc_4180_file_loads_exactly_with_the_parallel_reader(reference_dir, tmp_path):
    """Quoted CR, LF, CRLF, commas and quotes across a file larger than DuckDB's read buffers."""
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    rows = read_rows(reference_dir / "campaign_performance.csv")
    header, body = rows[0], rows[1:]
    breaks = ["\r", "\n", "\r\n", ", ", '"']
    big = []
    for copy in range(40):   # about 40 MB
        for number, fields in enumerate(body):
            fields = list(fields)
            fields[1] = f"{fields[1]}-{copy}"
            if number % 7 == 0:
                fields[2] = fields[2].replace(" - ", breaks[(number // 7 + copy) % len(breaks)], 1)
            big.append(fields)
    write_rows(folder / "campaign_performance.csv", [header, *big], quoting=csv.QUOTE_ALL)
    store = DataStore.open(folder)
    assert store.report.files["campaigns"].ok, store.report.format_text()
    assert store.report.files["campaigns"].rows == len(big)
    loaded = store.query("SELECT campaign_id, campaign_name FROM campaigns ORDER BY rowid")
    assert loaded["campaign_name"].tolist() == [r[2] for r in big]
    assert loaded["campaign_id"].tolist() == [r[1] for r in big]
