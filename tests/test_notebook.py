"""The notebook runs headless from top to bottom and renders the app, a section and an analytics table."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "novamart.ipynb"
PANEL_MIME = "application/vnd.holoviews_exec.v0+json"


@pytest.fixture(scope="module")
def executed(reference_dir):
    """The notebook executed by a kernel of this interpreter, on the reference data."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {**os.environ, "NOVAMART_DATA": str(reference_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    # The kernel spec's argv[0] "python" is replaced by sys.executable, so the kernel is this venv's Python.
    # allow_errors: run every cell, so the test below names each failing cell instead of the first only.
    client = NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute(env=env)
    return nb


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_notebook_is_kept_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not cell.outputs and cell.execution_count is None for cell in _code_cells(nb))


def test_notebook_runs_without_errors(executed):
    errors = [f"{cell.source.splitlines()[0]!r}: {out.ename}: {out.evalue}"
              for cell in _code_cells(executed) for out in cell.outputs if out.output_type == "error"]
    assert errors == []
    assert all(cell.execution_count for cell in _code_cells(executed))


def _outputs_of(nb, source_start: str) -> list:
    (cell,) = [c for c in _code_cells(nb) if c.source.startswith(source_start)]
    return [out for out in cell.outputs if out.output_type == "execute_result"]


def test_the_app_and_a_section_render_as_panel_models(executed):
    for start in ("app = nm.App()", 'app.section_view("campaigns")'):
        (result,) = _outputs_of(executed, start)
        assert PANEL_MIME in result.data and "text/html" in result.data
        assert result.metadata[PANEL_MIME]["id"]  # the Bokeh root the frontend renders


def test_the_kernel_is_this_interpreter(executed):
    kernel_info = executed.metadata["language_info"]
    assert kernel_info["version"] == ".".join(map(str, sys.version_info[:3]))


def test_the_analytics_cell_shows_attribution_shares(executed):
    (result,) = _outputs_of(executed, "from novamart_panel.analytics.attribution import")
    table = result.data["text/plain"]
    for channel in ("Paid Search", "Social Media", "Email"):
        assert channel in table
    for model in ("first_touch", "last_touch", "markov", "shapley"):
        assert model in table
    assert "<table" in result.data["text/html"]
