"""`novamart-panel export-wasm`: the app as a standalone WebAssembly page (Panel's Pyodide conversion).

The package and the data folder's CSVs travel in one wheel (the CSVs as `novamart_panel/bundled_data/`);
Panel packs the wheel into `index.resources.zip` beside the page, micropip installs it in the browser,
and `store.default_data_dir()` finds the bundled data there, so the same DuckDB store code reads it.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from . import __version__
from .data.contract import ALL_FILES
from .data.store import BUNDLED_DATA, default_data_dir

PACKAGE_DIR = Path(__file__).resolve().parent
ENTRY_SCRIPT = PACKAGE_DIR / "serve_app.py"
# Installed by micropip in the browser besides Panel and Bokeh, which the conversion adds itself.
# Pyodide 314 ships duckdb, numpy, pandas, scipy, scikit-learn and statsmodels; micropip takes the rest from PyPI.
WASM_REQUIREMENTS = ("duckdb", "holoviews", "hvplot", "pandas", "numpy", "scipy", "scikit-learn", "statsmodels",
                     "param", "markdown-it-py")
WHEEL_TAG = "py3-none-any"
# The page is index.html, so it is what a static file server shows for the folder.
PAGE_NAME = "index"
FAVICON = Path(importlib.util.find_spec("panel").origin).parent / "dist" / "images" / "favicon.ico"

# Runs in a fresh interpreter: the conversion executes the entry script to pre-render the first view
# (with the data folder in NOVAMART_DATA), and must not leave Panel state behind in the caller.
_CONVERT = """
import json, sys
from panel.io.convert import convert_app
entry, out, requirements = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
result = convert_app(entry, out, requirements=requirements, runtime="pyodide-worker", prerender=True,
                     manifest=None, verbose=False)
sys.exit(0 if result else 1)
"""


def export_wasm(out: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> Path:
    """Write the page, its worker script and the packed wheel (package plus data) to `out`; return index.html."""
    data = Path(data_dir).expanduser().resolve() if data_dir else default_data_dir()
    _check_data(data)
    out = Path(out).expanduser().resolve()
    with tempfile.TemporaryDirectory(prefix="novamart-wasm-") as build:
        build = Path(build)
        wheel = build_wheel(data, build)
        entry = build / f"{PAGE_NAME}.py"
        entry.write_text(ENTRY_SCRIPT.read_text(encoding="utf-8"), encoding="utf-8")
        staging = build / "page"
        staging.mkdir()
        requirements = [*WASM_REQUIREMENTS, str(wheel)]
        python_path = os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "NOVAMART_DATA": str(data), "PYTHONPATH": python_path}
        done = subprocess.run(
            [sys.executable, "-c", _CONVERT, str(entry), str(staging), json.dumps(requirements)],
            env=env, cwd=build, capture_output=True, text=True)
        if done.returncode or not (staging / f"{PAGE_NAME}.html").is_file():
            log = (done.stdout + done.stderr).strip()
            raise ValueError(f"Panel's Pyodide conversion of the app failed; its last output:\n{log[-2000:]}")
        # The page asks for ./favicon.ico; shipping Panel's keeps the browser console free of a 404.
        shutil.copy2(FAVICON, staging / "favicon.ico")
        out.mkdir(parents=True, exist_ok=True)
        for produced in staging.iterdir():
            shutil.copy2(produced, out / produced.name)
    return out / f"{PAGE_NAME}.html"


def _check_data(folder: Path) -> None:
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist; pass --data DIR or set NOVAMART_DATA")
    missing = [spec.filename for spec in ALL_FILES if spec.required and not (folder / spec.filename).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}; the page needs every required file")


def build_wheel(data_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """A pure-Python wheel of the package carrying the data folder's contract CSVs as `bundled_data/`.

    It declares no dependencies, so micropip installs only what the page lists (never GeoViews).
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    package = PACKAGE_DIR.name
    bundled = BUNDLED_DATA.relative_to(PACKAGE_DIR).as_posix()
    files: dict[str, bytes] = {}
    for path in sorted(PACKAGE_DIR.rglob("*")):
        relative = path.relative_to(PACKAGE_DIR)
        if path.is_file() and "__pycache__" not in relative.parts and relative.parts[0] != bundled:
            files[f"{package}/{relative.as_posix()}"] = path.read_bytes()
    for spec in ALL_FILES:
        csv_path = data_dir / spec.filename
        if csv_path.is_file():
            files[f"{package}/{bundled}/{spec.filename}"] = csv_path.read_bytes()
    dist_info = f"{package}-{__version__}.dist-info"
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: novamart-panel\nVersion: {__version__}\n"
        "Summary: NovaMart marketing analytics (WebAssembly build with bundled data)\n"
        "Requires-Python: >=3.12\n").encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: novamart_panel.wasm\nRoot-Is-Purelib: true\nTag: {WHEEL_TAG}\n").encode()
    record = [f"{name},sha256={_digest(content)},{len(content)}" for name, content in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()

    wheel = out_dir / f"{package}-{__version__}-{WHEEL_TAG}.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            # A fixed timestamp: the same sources and data give the same wheel.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    return wheel


def _digest(content: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
