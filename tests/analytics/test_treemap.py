"""Squarified treemap layout: hand-worked cases from the algorithm of Bruls, Huizing and van Wijk, the
geometric properties every layout must have, and the hierarchy helper."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics.treemap import Rect, layout_children, squarify, tile_at


def as_tuples(rects: list[Rect]) -> list[tuple]:
    return [(r.index, *np.round([r.x, r.y, r.width, r.height], 9)) for r in rects]


# --- hand-worked cases -----------------------------------------------------------------------------

def test_two_items_in_a_wide_box():
    # Box 4 × 1, shorter side 1. Row [3] has worst ratio 3; adding 1 gives 16, so 3 takes a 3 × 1 column
    # on the left and 1 the remaining 1 × 1 square.
    assert as_tuples(squarify([3, 1], 0, 0, 4, 1)) == [(0, 0, 0, 3, 1), (1, 3, 0, 1, 1)]


def test_three_items_in_a_square():
    # Box 2 × 2: [2] has worst 2, [2, 1] has 2.25, so 2 takes the left 1 × 2 column. The remaining 1 × 2 is
    # taller than wide: [1] (worst 1) beats [1, 1] (worst 4), so a 1 × 1 strip at the top, then the last 1.
    assert as_tuples(squarify([2, 1, 1], 0, 0, 2, 2)) == [(0, 0, 0, 1, 2), (1, 1, 1, 1, 1), (2, 1, 0, 1, 1)]


def test_four_equal_items_in_a_square_are_four_squares():
    rects = squarify([1, 1, 1, 1], 0, 0, 2, 2)
    assert sorted((r.x, r.y, r.width, r.height) for r in rects) == [
        (0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1)]


def test_the_paper_example_first_rows():
    # Bruls et al. (2000), figure 2: sizes 6, 6, 4, 3, 2, 2, 1 in a 6 × 4 box. [6, 6] fill a 3-wide column
    # on the left; [4, 3] a strip of height 7/3 along the top of the remaining 3 × 4; the 2s each take a
    # column of width 1.2 in the 3 × 5/3 left over, and 1 the last 0.6.
    rects = squarify([6, 6, 4, 3, 2, 2, 1], 0, 0, 6, 4)
    expected = [(0, 0, 2, 3, 2), (1, 0, 0, 3, 2), (2, 3, 5 / 3, 12 / 7, 7 / 3), (3, 3 + 12 / 7, 5 / 3, 9 / 7, 7 / 3),
                (4, 3, 0, 1.2, 5 / 3), (5, 4.2, 0, 1.2, 5 / 3), (6, 5.4, 0, 0.6, 5 / 3)]
    assert as_tuples(rects) == [(i, *np.round(v, 9)) for i, *v in expected]


# --- properties ------------------------------------------------------------------------------------

def overlap(a: Rect, b: Rect) -> float:
    dx = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    dy = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    return max(dx, 0) * max(dy, 0)


@pytest.mark.parametrize("seed", range(6))
def test_tiles_are_proportional_inside_the_box_and_disjoint(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(0, 1.2, size=int(rng.integers(2, 40)))
    box = (float(rng.uniform(-50, 50)), float(rng.uniform(-50, 50)), float(rng.uniform(1, 300)), float(rng.uniform(1, 300)))
    x, y, width, height = box
    rects = squarify(sizes, *box)
    assert sorted(r.index for r in rects) == list(range(len(sizes)))
    areas = np.array([r.width * r.height for r in sorted(rects, key=lambda r: r.index)])
    np.testing.assert_allclose(areas, sizes / sizes.sum() * width * height, rtol=1e-9)
    tol = 1e-9 * max(width, height)
    for r in rects:
        assert r.width > 0 and r.height > 0
        assert x - tol <= r.x and r.x + r.width <= x + width + tol
        assert y - tol <= r.y and r.y + r.height <= y + height + tol
    for a, b in itertools.combinations(rects, 2):
        assert overlap(a, b) <= 1e-9 * width * height


def test_squarified_beats_slicing_on_aspect_ratio():
    # The point of the algorithm: far squarer tiles than cutting the box into slices.
    sizes = np.arange(1, 21, dtype=float)
    rects = squarify(sizes, 0, 0, 160, 100)
    worst = max(max(r.width / r.height, r.height / r.width) for r in rects)
    slice_widths = sizes / sizes.sum() * 160
    slicing_worst = max(max(w / 100, 100 / w) for w in slice_widths)
    assert worst < 3 < slicing_worst


def test_zero_sizes_get_no_tile_and_indices_point_at_the_input():
    rects = squarify([0, 3, 0, 1], 0, 0, 4, 1)
    assert as_tuples(rects) == [(1, 0, 0, 3, 1), (3, 3, 0, 1, 1)]
    assert squarify([0, 0], 0, 0, 1, 1) == []
    assert squarify([], 0, 0, 1, 1) == []


def test_input_order_does_not_change_the_layout():
    sizes = [5.0, 1.0, 3.0, 8.0, 2.0]
    shuffled = [2.0, 8.0, 5.0, 1.0, 3.0]
    by_size = {sizes[r.index]: r[1:] for r in squarify(sizes, 0, 0, 10, 6)}
    assert {shuffled[r.index]: r[1:] for r in squarify(shuffled, 0, 0, 10, 6)} == by_size


@pytest.mark.parametrize("sizes, box", [([1, -1], (0, 0, 1, 1)), ([1, float("nan")], (0, 0, 1, 1)),
                                        ([1], (0, 0, 0, 1)), ([[1, 2]], (0, 0, 1, 1))])
def test_bad_input_is_refused(sizes, box):
    with pytest.raises(ValueError):
        squarify(sizes, *box)


# --- hierarchy -------------------------------------------------------------------------------------

LEAVES = pd.DataFrame({
    "category": ["A", "A", "A", "B", "B"],
    "subcategory": ["A1", "A1", "A2", "B1", "B2"],
    "product": ["p", "q", "p", "r", "s"],  # "p" sits under two subcategories
    "sales": [4.0, 2.0, 2.0, 1.0, 0.0],
    "profit": [1.0, 0.5, 0.2, 0.3, 0.0],
})
LEVELS = ("category", "subcategory", "product")


def test_top_level_sums_the_leaves_and_tiles_the_box():
    tiles = layout_children(LEAVES, LEVELS, [], "sales", box=(0, 0, 9, 1), sums=["profit"])
    assert tiles["name"].tolist() == ["A", "B"]
    assert tiles["sales"].tolist() == [8.0, 1.0]
    assert tiles["profit"].tolist() == pytest.approx([1.7, 0.3])
    assert tiles[["x0", "y0", "x1", "y1"]].values.tolist() == [[0, 0, 8, 1], [8, 0, 9, 1]]


def test_children_of_a_node_only_and_zero_sales_dropped():
    subcategories = layout_children(LEAVES, LEVELS, ["B"], "sales", box=(0, 0, 1, 1))
    assert subcategories["name"].tolist() == ["B1"]  # B2 sold nothing
    assert subcategories[["x0", "y0", "x1", "y1"]].values.tolist() == [[0, 0, 1, 1]]
    products = layout_children(LEAVES, LEVELS, ["A", "A1"], "sales", box=(0, 0, 3, 1), sums=["profit"])
    assert products[["name", "sales", "profit"]].values.tolist() == [["p", 4.0, 1.0], ["q", 2.0, 0.5]]


def test_a_path_naming_nothing_gives_no_tiles_and_a_leaf_has_no_children():
    assert layout_children(LEAVES, LEVELS, ["Z"], "sales").empty
    with pytest.raises(ValueError):
        layout_children(LEAVES, LEVELS, ["A", "A1", "p"], "sales")


def test_tile_at_finds_the_tile_under_a_point():
    tiles = layout_children(LEAVES, LEVELS, [], "sales", box=(0, 0, 9, 1))
    assert tile_at(tiles, 4.0, 0.5) == 0
    assert tile_at(tiles, 8.5, 0.2) == 1
    assert tile_at(tiles, 9.5, 0.5) is None
    assert tile_at(tiles, None, None) is None
    assert tile_at(tiles, float("nan"), 0.5) is None
    assert tile_at(tiles.iloc[:0], 1.0, 0.5) is None
