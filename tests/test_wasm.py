"""The WebAssembly export: page, worker, a wheel with the package and the data, requirements without GeoViews.

Pyodide itself loads from its CDN in a browser, so it cannot run here; instead the wheel is installed
into a bare folder and the app is built from it in a fresh interpreter, the way the worker does.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

import novamart_panel
from novamart_panel import cli
from novamart_panel.data.contract import ALL_FILES
from novamart_panel.wasm import PAGE_NAME, WASM_REQUIREMENTS, export_wasm

PACKAGE_DIR = Path(novamart_panel.__file__).resolve().parent
WHEEL_NAME = f"novamart_panel-{novamart_panel.__version__}-py3-none-any.whl"
# Import names whose distribution is named differently.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "markdown_it": "markdown-it-py"}


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory, reference_dir) -> Path:
    out = tmp_path_factory.mktemp("wasm")
    index = export_wasm(out, data_dir=reference_dir)
    assert index == out / "index.html"
    return out


@pytest.fixture(scope="module")
def wheel(page_dir) -> zipfile.ZipFile:
    with zipfile.ZipFile(page_dir / f"{PAGE_NAME}.resources.zip") as resources:
        return zipfile.ZipFile(io.BytesIO(resources.read(f"packed_wheels/{WHEEL_NAME}")))


def _micropip_requirements(worker_js: str) -> list[str]:
    (listed,) = re.findall(r"micropip\.install\((\[.*?\])\)", worker_js)
    return ast.literal_eval(listed)


def test_page_and_worker_are_written(page_dir):
    html = (page_dir / "index.html").read_text(encoding="utf-8")
    worker = (page_dir / "index.js").read_text(encoding="utf-8")
    assert 'Worker("./index.js"' in html
    assert "<title>NovaMart Marketing Analytics" in html
    assert "index.resources.zip" in worker
    assert "App(_data).servable()" in worker  # the serve_app.py entry script runs in the worker
    assert (page_dir / "favicon.ico").is_file()


def test_wheel_carries_every_module_and_the_data(wheel, reference_dir):
    names = set(wheel.namelist())
    sources = {f"novamart_panel/{p.relative_to(PACKAGE_DIR).as_posix()}" for p in PACKAGE_DIR.rglob("*.py")
               if "__pycache__" not in p.parts}
    assert "novamart_panel/app.py" in names and sources <= names
    bundled = {n for n in names if n.startswith("novamart_panel/bundled_data/")}
    expected = {spec.filename for spec in ALL_FILES if (reference_dir / spec.filename).is_file()}
    assert {Path(n).name for n in bundled} == expected
    for name in bundled:
        assert wheel.read(name) == (reference_dir / Path(name).name).read_bytes()


def test_wheel_record_matches_its_files_and_declares_no_dependencies(wheel):
    dist_info = f"novamart_panel-{novamart_panel.__version__}.dist-info"
    record = wheel.read(f"{dist_info}/RECORD").decode().splitlines()
    listed = {}
    for line in record:
        name, digest, size = line.rsplit(",", 2)
        listed[name] = (digest, size)
    assert set(listed) == set(wheel.namelist())
    for name, (digest, size) in listed.items():
        if name.endswith("RECORD"):
            continue
        content = wheel.read(name)
        expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        assert (digest, size) == (f"sha256={expected}", str(len(content)))
    metadata = wheel.read(f"{dist_info}/METADATA").decode()
    assert "Name: novamart-panel" in metadata and "Requires-Dist" not in metadata
    assert "Tag: py3-none-any" in wheel.read(f"{dist_info}/WHEEL").decode()


def test_requirements_name_the_wheel_and_not_geoviews(page_dir):
    requirements = _micropip_requirements((page_dir / "index.js").read_text(encoding="utf-8"))
    assert f"emfs:packed_wheels/{WHEEL_NAME}" in requirements
    assert set(WASM_REQUIREMENTS) <= set(requirements)
    assert any("/panel-" in r for r in requirements) and any("/bokeh-" in r for r in requirements)
    assert not [r for r in requirements if "geoviews" in r.lower() or "datashader" in r.lower()]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """The wheel extracted into a bare folder, and what building the app from it in a new interpreter saw."""
    site = tmp_path_factory.mktemp("installed") / "site-packages"
    wheel.extractall(site)
    probe = (
        "import json, sys\n"
        "from bokeh.document import Document\n"
        "import novamart_panel\n"
        "from novamart_panel.app import App, extension\n"
        "extension()\n"
        "app = App()\n"
        "page = app.template().server_doc(Document())\n"
        "print(json.dumps({'package': novamart_panel.__file__, 'folder': str(app.store.folder),\n"
        "                  'tables': sorted(app.store.tables), 'roots': len(page.roots),\n"
        "                  'geoviews': 'geoviews' in sys.modules, 'files': sorted(\n"
        "                      m.__file__ for n, m in list(sys.modules.items()) if n.startswith('novamart_panel'))}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NOVAMART_DATA", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=site.parent, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"site": site, **json.loads(done.stdout.strip().splitlines()[-1])}


def test_the_installed_wheel_builds_the_app_from_its_bundled_data(installed, reference_store):
    site = installed["site"]
    assert Path(installed["package"]).is_relative_to(site)
    assert Path(installed["folder"]) == site / "novamart_panel" / "bundled_data"
    assert installed["tables"] == sorted(reference_store.tables)
    assert installed["roots"] > 0


def test_the_app_loads_no_geoviews_and_needs_only_listed_requirements(installed):
    assert installed["geoviews"] is False
    third_party = set()
    for file in installed["files"]:
        assert Path(file).is_relative_to(installed["site"])
        for node in ast.walk(ast.parse(Path(file).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module.split(".")[0]]
            else:
                continue
            third_party.update(r for r in roots if r not in sys.stdlib_module_names and r != "novamart_panel")
    needed = {DISTRIBUTIONS.get(name, name) for name in third_party}
    assert needed <= set(WASM_REQUIREMENTS) | {"panel", "bokeh"}
    assert {"duckdb", "panel", "pandas"} <= needed  # the probe saw the app's real imports


def test_no_module_of_the_package_imports_geoviews():
    pattern = re.compile(r"^\s*(import|from)\s+geoviews\b", re.MULTILINE)
    sources = list(PACKAGE_DIR.rglob("*.py"))
    assert len(sources) > 10
    assert not [p for p in sources if pattern.search(p.read_text(encoding="utf-8"))]


def test_the_page_is_served_by_a_static_file_server(page_dir):
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(page_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        port = int(re.search(r"port (\d+)", server.stdout.readline()).group(1))
        for path, marker in (("/", b"index.js"), ("/index.js", b"micropip"), ("/index.resources.zip", b"PK")):
            with no_proxy.open(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
                assert response.status == 200
                assert marker in response.read()
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()


def test_export_refuses_a_folder_without_the_required_files(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_wasm(tmp_path / "page", data_dir=tmp_path / "absent")
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "campaign_performance.csv").write_text("date\n2024-01-01\n", encoding="utf-8")
    assert cli.main(["export-wasm", "--out", str(tmp_path / "page"), "--data", str(tmp_path / "partial")]) == 2
    message = capsys.readouterr().err
    assert "customer_data.csv" in message and "campaign_performance.csv," not in message
    assert not (tmp_path / "page").exists()
