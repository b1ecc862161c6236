"""Convert adarvmaps' state boundaries into the small GeoJSON the app ships (SPEC §4.5).

Run once, by hand, when the source or the simplification changes:

    /work/venv/bin/python scripts/build_india_states.py

Build-time only: pyogrio, shapely and the installed `adarvmaps` package (its data file, never imported)
are needed here, never by the app, which reads the resulting `novamart_panel/assets/india_states.geojson`
with plain `json` (`novamart_panel.analytics.geo`).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

SOURCE_PACKAGE = "adarvmaps"
SOURCE_FILE = "adarvmaps/data/state_boundary_lite.fgb"
OUTPUT = Path(__file__).resolve().parents[1] / "novamart_panel" / "assets" / "india_states.geojson"

# Degrees. The source is already coarse (median vertex spacing ~0.03°), so 0.01° (~1 km, about a
# third of a pixel on a 900 px map of India) only drops near-collinear points without changing shape.
TOLERANCE = 0.01
# Square degrees (~0.12 km²): islets and slivers below this are invisible at any sensible zoom yet make
# up a fifth of the vertices. A state's largest part is always kept (Lakshadweep is all islets).
MIN_PART_AREA = 1e-5
DECIMALS = 4

# Source labels that are not title case of the common name.
COMMON_NAMES = {
    "ANDAMAN & NICOBAR": "Andaman and Nicobar Islands",
    "DADRA & NAGAR HAVELI & DAMAN & DIU": "Dadra and Nagar Haveli and Daman and Diu",
    "JAMMU AND KASHMIR": "Jammu and Kashmir",
}
# The source also carries four tiny (< 16 km²) inter-state "DISPUTED (...)" patches; they belong to no
# single state, so they are left out.
DISPUTED_PREFIX = "DISPUTED"


def common_name(source_label: str) -> str:
    """The state's everyday name from the source's upper-case label."""
    return COMMON_NAMES.get(source_label, source_label.title())


def drop_small_parts(geometry: shapely.Geometry, min_area: float) -> shapely.Geometry:
    """The multipolygon without parts smaller than `min_area`, always keeping the largest."""
    parts = shapely.get_parts(geometry)
    areas = shapely.area(parts)
    keep = (areas >= min_area) | (areas == areas.max())
    return shapely.multipolygons(parts[keep])


def rounded_coordinates(geometry: shapely.Geometry) -> list:
    """GeoJSON MultiPolygon coordinates (exterior counter-clockwise) rounded to DECIMALS."""
    polygons = []
    for part in shapely.get_parts(shapely.orient_polygons(geometry)):
        rings = [part.exterior, *part.interiors]
        polygons.append([np.round(np.asarray(ring.coords), DECIMALS).tolist() for ring in rings])
    return polygons


def source_path() -> Path:
    """The installed source file (located through the package metadata: importing adarvmaps pulls folium)."""
    return Path(importlib.metadata.distribution(SOURCE_PACKAGE).locate_file(SOURCE_FILE))


def read_source(source: Path) -> dict[str, shapely.Geometry]:
    """Source label -> MultiPolygon, without the disputed patches."""
    _, _, wkb, (labels,) = pyogrio.raw.read(source, columns=["STATE"])
    return {
        label: geometry
        for label, geometry in zip(labels, shapely.from_wkb(wkb), strict=True)
        if not label.startswith(DISPUTED_PREFIX)
    }


def build(source: Path, tolerance: float = TOLERANCE, min_part_area: float = MIN_PART_AREA) -> dict:
    """The FeatureCollection, one MultiPolygon feature per state/UT, sorted by name."""
    features = []
    for label, geometry in read_source(source).items():
        geometry = drop_small_parts(geometry, min_part_area)
        geometry = shapely.simplify(geometry, tolerance, preserve_topology=True)
        # Snapping to the output grid here (not just rounding the text) keeps every ring valid.
        geometry = shapely.set_precision(geometry, 10.0**-DECIMALS)
        if geometry.is_empty or not geometry.is_valid:
            raise ValueError(f"{label}: simplification left an empty or invalid shape")
        features.append({
            "type": "Feature",
            "properties": {"name": common_name(label)},
            "geometry": {"type": "MultiPolygon", "coordinates": rounded_coordinates(geometry)},
        })
    features.sort(key=lambda feature: feature["properties"]["name"])
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="simplify tolerance, degrees")
    parser.add_argument("--min-part-area", type=float, default=MIN_PART_AREA, help="square degrees")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    collection = build(source_path(), args.tolerance, args.min_part_area)
    args.output.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    version = importlib.metadata.version(SOURCE_PACKAGE)
    print(f"{args.output}: {len(collection['features'])} features, {args.output.stat().st_size:,} bytes "
          f"from {SOURCE_PACKAGE} {version} {SOURCE_FILE} (tolerance {args.tolerance}°, "
          f"min part area {args.min_part_area} deg²)")


if __name__ == "__main__":
    main()
