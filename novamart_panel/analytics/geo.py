"""India state boundaries and the join of per-state data onto them (SPEC §4.5).

Pure Python + numpy + pandas so it runs in Pyodide: the shapes come from the GeoJSON shipped in
`novamart_panel/assets` (built by `scripts/build_india_states.py`), projected here to Web Mercator.
"""
from __future__ import annotations

import functools
import importlib.resources
import json
import math
import os
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

Ring = np.ndarray  # (n, 2) lon/lat or x/y, closed (first point repeated last), read-only
Polygon = tuple[Ring, ...]  # exterior first, then holes
StateBoundaries = Mapping[str, tuple[Polygon, ...]]  # state name -> its polygons

BOUNDARIES_PACKAGE = "novamart_panel.assets"
BOUNDARIES_FILE = "india_states.geojson"

EARTH_RADIUS_M = 6378137.0  # WGS84 semi-major axis, the EPSG:3857 sphere
# Web Mercator's square world ends here: the latitude where y equals x at lon 180.
MAX_MERCATOR_LAT = math.degrees(2 * math.atan(math.exp(math.pi)) - math.pi / 2)

GEOMETRY_KEYS = ("x", "y", "holes")
MISSING_STATE = "(missing)"  # how an empty state cell is reported among the unmatched

# Shipped name -> spellings met in data. Spellings that only differ in case, '&' or punctuation
# need no entry: normalise_state_name already folds them.
STATE_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "Andaman and Nicobar Islands": ("Andaman and Nicobar", "Andaman Nicobar", "A&N Islands"),
    "Chhattisgarh": ("Chhatisgarh", "Chattisgarh"),
    "Dadra and Nagar Haveli and Daman and Diu": (
        "Dadra and Nagar Haveli", "Dadra Nagar Haveli", "Daman and Diu", "DNH and DD", "DNHDD",
    ),
    "Delhi": ("NCT of Delhi", "National Capital Territory of Delhi", "Delhi NCT", "NCT Delhi", "New Delhi"),
    "Gujarat": ("Gujrat",),
    "Jammu and Kashmir": ("Jammu Kashmir", "J&K"),
    "Kerala": ("Keralam",),
    "Lakshadweep": ("Lakshadweep Islands", "Laccadive Minicoy and Amindivi Islands"),
    "Maharashtra": ("Maharastra",),
    "Odisha": ("Orissa",),
    "Puducherry": ("Pondicherry", "Pondichery"),
    "Tamil Nadu": ("Tamilnadu",),
    "Telangana": ("Telengana",),
    "Uttarakhand": ("Uttaranchal", "Uttrakhand"),
})


def _fold(name: str) -> str:
    """Case, accents, '&' and punctuation folded away; words joined by single spaces."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = ascii_name.casefold().replace("&", " and ")
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


_ALIAS_KEYS = {_fold(alias): _fold(name) for name, aliases in STATE_ALIASES.items() for alias in aliases}


def normalise_state_name(name: str) -> str:
    """The join key of a state name: folded text, with known variants mapped to the current name.

    >>> normalise_state_name(" Orissa "), normalise_state_name("Jammu & Kashmir")
    ('odisha', 'jammu and kashmir')
    """
    key = _fold(name)
    return _ALIAS_KEYS.get(key, key)


def to_web_mercator(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:3857 x, y in metres for lon/lat in degrees (arrays or scalars; lat clipped to ±85.0511°)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -MAX_MERCATOR_LAT, MAX_MERCATOR_LAT)
    x = EARTH_RADIUS_M * np.radians(lon)
    y = EARTH_RADIUS_M * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
    return x, y


def _read_only(ring: list) -> Ring:
    array = np.array(ring, dtype=float)
    array.flags.writeable = False
    return array


def parse_state_boundaries(geojson: Mapping) -> StateBoundaries:
    """State name (feature property `name`) -> polygons as lon/lat rings, from a GeoJSON mapping."""
    boundaries: dict[str, tuple[Polygon, ...]] = {}
    for feature in geojson["features"]:
        geometry = feature["geometry"]
        if geometry["type"] == "Polygon":
            polygons = [geometry["coordinates"]]
        elif geometry["type"] == "MultiPolygon":
            polygons = geometry["coordinates"]
        else:
            raise ValueError(f"{feature['properties']['name']}: geometry {geometry['type']} is not a polygon")
        boundaries[feature["properties"]["name"]] = tuple(
            tuple(_read_only(ring) for ring in polygon) for polygon in polygons
        )
    return MappingProxyType(boundaries)


@functools.lru_cache(maxsize=4)
def load_state_boundaries(path: str | os.PathLike | None = None) -> StateBoundaries:
    """The shipped India state/UT boundaries (or those in the GeoJSON file at `path`), parsed once."""
    if path is None:
        resource = importlib.resources.files(BOUNDARIES_PACKAGE).joinpath(BOUNDARIES_FILE)
        text = resource.read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    return parse_state_boundaries(json.loads(text))


def _match_states(
    frame: pd.DataFrame, state_column: str, boundaries: StateBoundaries
) -> tuple[list[tuple[int, str]], list[str]]:
    """(row position, shape name) for every row whose state has a shape, and the unmatched states."""
    clashes = [column for column in GEOMETRY_KEYS if column in frame.columns]
    if clashes:
        raise ValueError(f"columns {clashes} clash with the geometry keys {GEOMETRY_KEYS}; rename them first")
    shape_by_key = {normalise_state_name(name): name for name in boundaries}
    matched: list[tuple[int, str]] = []
    unmatched: dict[str, None] = {}  # ordered set: first appearance in the data
    for position, state in enumerate(frame[state_column]):
        shape_name = shape_by_key.get(normalise_state_name(state)) if isinstance(state, str) else None
        if shape_name is None:
            unmatched[MISSING_STATE if pd.isna(state) else str(state)] = None
        else:
            matched.append((position, shape_name))
    return matched, list(unmatched)


def join_states(
    frame: pd.DataFrame, state_column: str = "state", boundaries: StateBoundaries | None = None
) -> tuple[list[dict], list[str]]:
    """Per-state rows joined to their shapes, in the list-of-dicts form `hv.Polygons` takes.

    One dict per matched row: 'x' and 'y' are the state's Web Mercator outline (parts of a
    multi-polygon separated by NaN), 'holes' holds one list of hole rings ((n, 2) arrays) per part,
    and every column of the row is copied alongside, so
    `hv.Polygons(polygons, vdims=list(frame.columns))` colours and hovers by them. Also returns the
    data's state names that found no shape, in order of first appearance (an empty cell as
    MISSING_STATE). Pass every shipped name (`list(load_state_boundaries())`) to draw the whole map.
    """
    boundaries = load_state_boundaries() if boundaries is None else boundaries
    matched, unmatched = _match_states(frame, state_column, boundaries)
    records = frame.to_dict("records")
    polygons = [
        {**_mercator_outline(boundaries[shape_name]), **records[position]} for position, shape_name in matched
    ]
    return polygons, unmatched


def outline_extent(polygons: list[dict]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The (x, y) extent of `join_states` polygons' outlines, ((nan, nan), (nan, nan)) when there are none."""
    if not polygons:
        return (np.nan, np.nan), (np.nan, np.nan)
    xs, ys = np.concatenate([p["x"] for p in polygons]), np.concatenate([p["y"] for p in polygons])
    return (float(np.nanmin(xs)), float(np.nanmax(xs))), (float(np.nanmin(ys)), float(np.nanmax(ys)))


def _projected(ring: Ring) -> np.ndarray:
    """A lon/lat ring as an (n, 2) Web Mercator array."""
    return np.column_stack(to_web_mercator(ring[:, 0], ring[:, 1]))


def _mercator_outline(polygons: tuple[Polygon, ...]) -> dict:
    separator = np.full((1, 2), np.nan)
    exteriors: list[np.ndarray] = []
    holes: list[list[np.ndarray]] = []
    for polygon in polygons:
        exteriors += [separator, _projected(polygon[0])] if exteriors else [_projected(polygon[0])]
        holes.append([_projected(hole) for hole in polygon[1:]])
    outline = np.concatenate(exteriors)
    return {"x": outline[:, 0].copy(), "y": outline[:, 1].copy(), "holes": holes}


def state_centroids(
    frame: pd.DataFrame, state_column: str = "state", boundaries: StateBoundaries | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The matched rows of `frame` with 'x', 'y': a Web Mercator label/bubble point inside each state.

    The point is the area centroid of the state's largest polygon, or, when that falls outside
    (a crescent-shaped state), the middle of the widest stretch of the polygon on the centroid's
    latitude. Also returns the data's state names that found no shape.
    """
    boundaries = load_state_boundaries() if boundaries is None else boundaries
    matched, unmatched = _match_states(frame, state_column, boundaries)
    points = [_representative_point(boundaries[shape_name]) for _, shape_name in matched]
    located = frame.iloc[[position for position, _ in matched]].assign(
        x=[x for x, _ in points], y=[y for _, y in points]
    )
    return located, unmatched


def _signed_area_and_centroid(ring: np.ndarray) -> tuple[float, float, float]:
    """Shoelace area (positive when counter-clockwise) and centroid of a closed ring."""
    x, y = ring[:, 0], ring[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2
    cx = ((x[:-1] + x[1:]) * cross).sum() / (6 * area)
    cy = ((y[:-1] + y[1:]) * cross).sum() / (6 * area)
    return area, cx, cy


def _polygon_area_and_centroid(rings: list[np.ndarray]) -> tuple[float, float, float]:
    """Area and centroid of an exterior minus its holes, whatever the rings' orientation."""
    parts = [_signed_area_and_centroid(ring) for ring in rings]
    weights = np.array([abs(area) for area, _, _ in parts]) * np.array([1] + [-1] * (len(parts) - 1))
    area = weights.sum()
    cx = sum(w * c for w, (_, c, _) in zip(weights, parts, strict=True)) / area
    cy = sum(w * c for w, (_, _, c) in zip(weights, parts, strict=True)) / area
    return area, cx, cy


def _crossings(rings: list[np.ndarray], y: float) -> np.ndarray:
    """Sorted x where the rings' edges cross the horizontal line at y (half-open rule at vertices)."""
    found = []
    for ring in rings:
        x0, y0, x1, y1 = ring[:-1, 0], ring[:-1, 1], ring[1:, 0], ring[1:, 1]
        crosses = (y0 <= y) != (y1 <= y)
        t = (y - y0[crosses]) / (y1[crosses] - y0[crosses])
        found.append(x0[crosses] + t * (x1[crosses] - x0[crosses]))
    return np.sort(np.concatenate(found))


def _representative_point(polygons: tuple[Polygon, ...]) -> tuple[float, float]:
    measured = [
        (_polygon_area_and_centroid(rings), rings)
        for rings in ([_projected(ring) for ring in polygon] for polygon in polygons)
    ]
    (_, cx, cy), rings = max(measured, key=lambda item: item[0][0])
    crossings = _crossings(rings, cy)
    inside_stretches = crossings.reshape(-1, 2)  # even-odd: entering and leaving pairs
    if np.any((inside_stretches[:, 0] <= cx) & (cx <= inside_stretches[:, 1])):
        return float(cx), float(cy)
    widest = np.argmax(inside_stretches[:, 1] - inside_stretches[:, 0])
    return float(inside_stretches[widest].mean()), float(cy)
