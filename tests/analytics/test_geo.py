"""State boundaries, Web Mercator and the state join, against hand-worked cases, pyproj and shapely."""
from __future__ import annotations

import ast
import importlib.resources
import importlib.util
import json
import math
from pathlib import Path

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the renderer hv.render uses)
import numpy as np
import pandas as pd
import pytest
import shapely
from bokeh.models import GlyphRenderer, MultiPolygons
from pyproj import Transformer

from novamart_panel.analytics import geo

REPO = Path(__file__).resolve().parents[2]
ASSET = importlib.resources.files(geo.BOUNDARIES_PACKAGE).joinpath(geo.BOUNDARIES_FILE)
# lon, lat limits of India's territory, Andaman and Nicobar and Lakshadweep included.
INDIA_LON = (68.0, 97.5)
INDIA_LAT = (6.5, 37.5)
R = geo.EARTH_RADIUS_M


@pytest.fixture(scope="module")
def geojson() -> dict:
    return json.loads(ASSET.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def boundaries() -> geo.StateBoundaries:
    return geo.load_state_boundaries()


def _build_script():
    path = REPO / "scripts" / "build_india_states.py"
    spec = importlib.util.spec_from_file_location("build_india_states", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mercator_shape(polygons: tuple[geo.Polygon, ...]) -> shapely.MultiPolygon:
    """The state as a shapely MultiPolygon in Web Mercator, for reference checks."""
    def project(ring):
        return np.column_stack(geo.to_web_mercator(ring[:, 0], ring[:, 1]))

    return shapely.MultiPolygon([(project(p[0]), [project(h) for h in p[1:]]) for p in polygons])


# --- the shipped GeoJSON ---------------------------------------------------------------------------

def test_geojson_has_the_36_current_states_and_uts(geojson):
    names = [feature["properties"]["name"] for feature in geojson["features"]]
    assert len(names) == 36 == len(set(names))
    # Post-2014 and post-2019 geography: these are separate features, not merged.
    assert {"Telangana", "Andhra Pradesh", "Ladakh", "Jammu and Kashmir"} <= set(names)
    renamed = {"Odisha", "Puducherry", "Uttarakhand", "Delhi", "Dadra and Nagar Haveli and Daman and Diu"}
    assert renamed <= set(names)
    assert not any(name.upper().startswith("DISPUTED") for name in names)


def test_geojson_is_small():
    assert len(ASSET.read_bytes()) < 400_000


def test_every_coordinate_is_in_india_and_rounded_to_four_decimals(boundaries):
    coords = np.concatenate([ring for polygons in boundaries.values() for p in polygons for ring in p])
    assert INDIA_LON[0] < coords[:, 0].min() and coords[:, 0].max() < INDIA_LON[1]
    assert INDIA_LAT[0] < coords[:, 1].min() and coords[:, 1].max() < INDIA_LAT[1]
    np.testing.assert_array_equal(np.round(coords, 4), coords)


def test_every_shape_is_a_valid_polygon_with_closed_rings(boundaries):
    for name, polygons in boundaries.items():
        for polygon in polygons:
            for ring in polygon:
                assert len(ring) >= 4 and tuple(ring[0]) == tuple(ring[-1]), name
        lonlat = shapely.MultiPolygon([(p[0], p[1:]) for p in polygons])
        assert lonlat.is_valid, name


def test_geojson_is_what_the_build_script_makes_from_adarvmaps(geojson):
    build = _build_script()
    assert build.build(build.source_path()) == geojson


def test_simplified_states_keep_their_area(boundaries):
    """Against the unsimplified source: every state but the islet-only ones within 1 % of its area."""
    build = _build_script()
    source_shapes = build.read_source(build.source_path())
    source = {build.common_name(label): shape for label, shape in source_shapes.items()}
    assert set(source) == set(boundaries)
    for name, polygons in boundaries.items():
        if name in ("Lakshadweep", "Andaman and Nicobar Islands"):  # islets below 0.12 km² were dropped
            continue
        shipped = shapely.MultiPolygon([(p[0], p[1:]) for p in polygons])
        assert shipped.area == pytest.approx(source[name].area, rel=0.01), name


# --- loading --------------------------------------------------------------------------------------

def test_boundaries_are_parsed_once_and_immutable(boundaries):
    assert geo.load_state_boundaries() is boundaries
    with pytest.raises(TypeError):
        boundaries["Atlantis"] = ()
    with pytest.raises(ValueError):
        boundaries["Delhi"][0][0][0, 0] = 0.0


def test_boundaries_load_from_a_path(tmp_path):
    square = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Square"},
         "geometry": {"type": "Polygon", "coordinates": square}},
    ]}))
    loaded = geo.load_state_boundaries(path)
    assert list(loaded) == ["Square"]
    (polygon,) = loaded["Square"]
    np.testing.assert_array_equal(polygon[0], np.array(square[0], dtype=float))


def test_a_non_polygon_feature_is_refused():
    line = {"type": "Feature", "properties": {"name": "Road"},
            "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}
    with pytest.raises(ValueError, match="Road: geometry LineString"):
        geo.parse_state_boundaries({"type": "FeatureCollection", "features": [line]})


def test_geo_imports_nothing_outside_the_pyodide_safe_set():
    tree = ast.parse(Path(geo.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    third_party = imported - {"__future__", "collections", "functools", "importlib", "json", "math", "os",
                              "re", "types", "unicodedata"}
    assert third_party == {"numpy", "pandas"}


# --- Web Mercator ---------------------------------------------------------------------------------

def test_web_mercator_hand_values():
    x, y = geo.to_web_mercator(0.0, 0.0)
    assert (float(x), float(y)) == pytest.approx((0.0, 0.0), abs=1e-6)
    # Half the equator: pi * 6378137.
    assert float(geo.to_web_mercator(180.0, 0.0)[0]) == pytest.approx(20037508.342789244, abs=1e-6)
    assert float(geo.to_web_mercator(-180.0, 0.0)[0]) == pytest.approx(-20037508.342789244, abs=1e-6)
    # lat 45: R * ln(tan(67.5°)) = R * ln(1 + sqrt 2) = 6378137 * 0.881373587...
    assert float(geo.to_web_mercator(0.0, 45.0)[1]) == pytest.approx(R * math.log(1 + math.sqrt(2)), abs=1e-6)
    assert float(geo.to_web_mercator(0.0, 45.0)[1]) == pytest.approx(5621521.486, abs=1e-3)
    # The square world: the poles clip to y = x(180°).
    assert float(geo.to_web_mercator(0.0, 90.0)[1]) == pytest.approx(20037508.342789244, abs=1e-3)


def test_web_mercator_matches_pyproj_on_arrays():
    rng = np.random.default_rng(3)
    lon = rng.uniform(-180, 180, 500)
    lat = rng.uniform(-85, 85, 500)
    x, y = geo.to_web_mercator(lon, lat)
    ref_x, ref_y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
    assert x.shape == y.shape == (500,)
    np.testing.assert_allclose(x, ref_x, rtol=0, atol=1e-6)
    np.testing.assert_allclose(y, ref_y, rtol=0, atol=1e-6)


# --- names and the join ---------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "key"), [
    ("  Tamil   Nadu ", "tamil nadu"),
    ("JAMMU & KASHMIR", "jammu and kashmir"),
    ("Andaman & Nicobar Islands", "andaman and nicobar islands"),
    ("Andaman & Nicobar", "andaman and nicobar islands"),
    ("Dadra & Nagar Haveli & Daman & Diu", "dadra and nagar haveli and daman and diu"),
    ("Daman and Diu", "dadra and nagar haveli and daman and diu"),
    ("Orissa", "odisha"),
    ("NCT of Delhi", "delhi"),
    ("National Capital Territory of Delhi", "delhi"),
    ("Delhi (NCT)", "delhi"),
    ("Pondicherry", "puducherry"),
    ("Uttaranchal", "uttarakhand"),
    ("Tamilnadu", "tamil nadu"),
    ("Chhatisgarh", "chhattisgarh"),
    ("Telengana", "telangana"),
    ("Atlantis", "atlantis"),
])
def test_normalise_state_name(raw, key):
    assert geo.normalise_state_name(raw) == key


def test_every_alias_points_at_a_shipped_state(boundaries):
    keys = {geo.normalise_state_name(name) for name in boundaries}
    assert len(keys) == len(boundaries)
    for name, aliases in geo.STATE_ALIASES.items():
        assert name in boundaries
        for alias in aliases:
            assert geo.normalise_state_name(alias) == geo.normalise_state_name(name), alias


def test_every_reference_state_joins(reference_dir, boundaries):
    frame = pd.read_csv(reference_dir / "geographic_data.csv")
    polygons, unmatched = geo.join_states(frame)
    assert unmatched == []
    assert len(polygons) == len(frame) == 15
    assert [p["state"] for p in polygons] == list(frame["state"])
    assert [p["total_revenue"] for p in polygons] == list(frame["total_revenue"])


def test_aliases_join_and_unknown_names_are_reported():
    frame = pd.DataFrame({
        "state": ["Orissa", "NCT of Delhi", "Atlantis", "Pondicherry", "Uttaranchal", None, "Atlantis"],
        "revenue": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    })
    polygons, unmatched = geo.join_states(frame)
    assert unmatched == ["Atlantis", geo.MISSING_STATE]
    assert [(p["state"], p["revenue"]) for p in polygons] == [
        ("Orissa", 1.0), ("NCT of Delhi", 2.0), ("Pondicherry", 4.0), ("Uttaranchal", 5.0),
    ]
    for polygon in polygons:
        parts = int(np.isnan(polygon["x"]).sum()) + 1
        assert len(polygon["holes"]) == parts
        np.testing.assert_array_equal(np.isnan(polygon["x"]), np.isnan(polygon["y"]))


def test_join_output_is_the_states_outline_in_web_mercator(boundaries):
    (delhi,), _ = geo.join_states(pd.DataFrame({"state": ["Delhi"]}))
    ring = boundaries["Delhi"][0][0]
    x, y = geo.to_web_mercator(ring[:, 0], ring[:, 1])
    np.testing.assert_array_equal(delhi["x"], x)
    np.testing.assert_array_equal(delhi["y"], y)
    assert delhi["holes"] == [[]]


def test_geometry_column_names_in_the_data_are_refused():
    with pytest.raises(ValueError, match="clash"):
        geo.join_states(pd.DataFrame({"state": ["Delhi"], "x": [1]}))


def test_joined_polygons_render_in_bokeh(boundaries):
    names = ["Telangana", "Andhra Pradesh", "Ladakh", "Jammu and Kashmir", "West Bengal", "Atlantis"]
    frame = pd.DataFrame({"state": names, "value": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]})
    polygons, unmatched = geo.join_states(frame)
    assert unmatched == ["Atlantis"]
    element = hv.Polygons(polygons, vdims=["state", "value"]).opts(color="value", tools=["hover"])
    figure = hv.render(element, backend="bokeh")
    (renderer,) = [r for r in figure.renderers if isinstance(r, GlyphRenderer)]
    assert isinstance(renderer.glyph, MultiPolygons)
    data = renderer.data_source.data
    assert len(data["xs"]) == 5 == len(polygons)
    assert list(data["value"]) == [10.0, 20.0, 30.0, 40.0, 50.0]
    # West Bengal is a multi-polygon; Telangana's outline carries a hole (exterior + 1 ring).
    assert len(data["xs"][4]) == len(boundaries["West Bengal"]) > 1
    assert [len(rings) for rings in data["xs"][0]] == [len(p) for p in boundaries["Telangana"]] == [2]


# --- label and bubble points ----------------------------------------------------------------------

def test_every_states_point_lies_inside_it_and_is_the_centroid_when_that_is_inside(boundaries):
    points, unmatched = geo.state_centroids(pd.DataFrame({"state": list(boundaries)}))
    assert unmatched == [] and len(points) == 36
    for name, x, y in points[["state", "x", "y"]].itertuples(index=False):
        shape = _mercator_shape(boundaries[name])
        assert shapely.contains_xy(shape, x, y), name
        largest = max(shape.geoms, key=lambda part: part.area)
        if largest.contains(largest.centroid):
            assert (x, y) == pytest.approx((largest.centroid.x, largest.centroid.y), abs=1e-3), name


def test_centroid_of_a_square_with_a_hole():
    """Square 0..4 minus hole 0.5..2 (units of 0.001°, where Mercator is linear to 1e-9)."""
    unit = 0.001
    square = np.array([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], dtype=float) * unit
    hole = np.array([[0.5, 0.5], [0.5, 2], [2, 2], [2, 0.5], [0.5, 0.5]], dtype=float) * unit
    frame = pd.DataFrame({"state": ["Square"]})
    points, _ = geo.state_centroids(frame, boundaries={"Square": ((square, hole),)})
    # Area 16 - 2.25 = 13.75; x = (16 * 2 - 2.25 * 1.25) / 13.75, y the same by symmetry.
    expected = (16 * 2 - 2.25 * 1.25) / 13.75 * unit
    metres_per_unit = float(geo.to_web_mercator(expected, 0.0)[0])
    assert points["x"].iloc[0] == pytest.approx(metres_per_unit, rel=1e-6)
    assert points["y"].iloc[0] == pytest.approx(metres_per_unit, rel=1e-6)


def test_a_u_shaped_state_gets_a_point_inside_not_its_centroid():
    """A 3x1 base with two 1x2 posts: the centroid (1.5, 9.5/7) sits in the notch, outside."""
    unit = 0.001
    corners = [[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]
    u_shape = np.array(corners, dtype=float) * unit
    frame = pd.DataFrame({"state": ["U"], "stores": [7]})
    points, _ = geo.state_centroids(frame, boundaries={"U": ((u_shape,),)})
    x, y = points["x"].iloc[0], points["y"].iloc[0]
    assert points["stores"].iloc[0] == 7
    # On the centroid's line, the widest inside stretch is the left post, 0..1: its middle is x = 0.5.
    assert x == pytest.approx(float(geo.to_web_mercator(0.5 * unit, 0.0)[0]), rel=1e-9)
    assert y == pytest.approx(float(geo.to_web_mercator(0.0, 9.5 / 7 * unit)[1]), rel=1e-6)
    assert shapely.contains_xy(_mercator_shape(((u_shape,),)), x, y)


def test_outline_extent_spans_every_part_and_skips_the_separators():
    polygons = [{"x": np.array([0.0, 2.0, np.nan, 5.0]), "y": np.array([1.0, -3.0, np.nan, 4.0])},
                {"x": np.array([-1.0, 1.0]), "y": np.array([0.0, 9.0])}]
    assert geo.outline_extent(polygons) == ((-1.0, 5.0), (-3.0, 9.0))
    assert all(np.isnan(v) for pair in geo.outline_extent([]) for v in pair)
