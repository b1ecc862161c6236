"""Squarified treemap layout (Bruls, Huizing and van Wijk, "Squarified Treemaps", 2000) and the
hierarchy helper that lays out the children of one node. Pure numpy/pandas: no Panel import.

Coordinates have y pointing up (plot data coordinates): rows are laid from the top-left corner.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

RECT_COLUMNS = ("x0", "y0", "x1", "y1")


class Rect(NamedTuple):
    """One tile: `index` is the position of its size in the input; (x, y) is the lower-left corner."""

    index: int
    x: float
    y: float
    width: float
    height: float


def _worst(row_sum: float, row_max: float, row_min: float, side: float) -> float:
    """The worst aspect ratio of a row of areas laid along a side of length `side` (the paper's `worst`)."""
    side2 = side * side
    return max(side2 * row_max / (row_sum * row_sum), (row_sum * row_sum) / (side2 * row_min))


def squarify(sizes: Sequence[float], x: float, y: float, width: float, height: float) -> list[Rect]:
    """Tiles of the box (x, y, width, height) with areas proportional to `sizes`, as square as the
    greedy row algorithm makes them. Sizes of 0 get no tile; the result is in layout order (largest first)."""
    values = np.asarray(sizes, dtype=float)
    if values.ndim != 1:
        raise ValueError("sizes must be one-dimensional")
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError("sizes must be non-negative numbers")
    if width <= 0 or height <= 0:
        raise ValueError("the box must have a positive width and height")
    x, y, width, height = float(x), float(y), float(width), float(height)
    positive = [int(i) for i in np.flatnonzero(values > 0)]
    if not positive:
        return []
    order = sorted(positive, key=lambda i: -values[i])  # stable: equal sizes keep their input order
    scale = width * height / float(values[order].sum())
    areas = [float(values[i]) * scale for i in order]

    rects: list[Rect] = []
    start = 0
    while start < len(order):
        side = min(width, height)
        end = start + 1
        row_sum = row_max = row_min = areas[start]
        worst = _worst(row_sum, row_max, row_min, side)
        while end < len(order):
            area = areas[end]
            candidate = _worst(row_sum + area, max(row_max, area), min(row_min, area), side)
            if candidate > worst:
                break
            row_sum, row_max, row_min, worst = row_sum + area, max(row_max, area), min(row_min, area), candidate
            end += 1
        last_row = end == len(order)
        if width >= height:
            # A column along the left edge, filled top to bottom.
            column_width = width if last_row else row_sum / height
            top = y + height
            for k in range(start, end):
                tile_height = areas[k] / column_width
                rects.append(Rect(order[k], x, top - tile_height, column_width, tile_height))
                top -= tile_height
            x, width = x + column_width, width - column_width
        else:
            # A strip along the top edge, filled left to right.
            strip_height = height if last_row else row_sum / width
            left = x
            for k in range(start, end):
                tile_width = areas[k] / strip_height
                rects.append(Rect(order[k], left, y + height - strip_height, tile_width, strip_height))
                left += tile_width
            height -= strip_height
        start = end
    return rects


def layout_children(leaves: pd.DataFrame, levels: Sequence[str], path: Sequence[str], size: str,
                    box: tuple[float, float, float, float] = (0.0, 0.0, 100.0, 100.0),
                    sums: Sequence[str] = ()) -> pd.DataFrame:
    """Tiles of the children of the node `path` (e.g. [] = the top level, ["Electronics"] = its
    subcategories) in `box` = (x, y, width, height).

    `leaves` holds one row per leaf with the `levels` columns and additive measures; each child sums
    `size` and `sums` over its leaves. Returns one row per child with a positive size, largest first:
    `name`, the sums, and the tile corners x0, y0, x1, y1. A path that names no node gives no rows.
    """
    if len(path) >= len(levels):
        raise ValueError(f"a path of {len(path)} names has no children: the hierarchy has {len(levels)} levels")
    measures = list(dict.fromkeys([size, *sums]))
    under = leaves
    for level, name in zip(levels, path):
        under = under[under[level] == name]
    child_level = levels[len(path)]
    children = (under.groupby(child_level, sort=True)[measures].sum().reset_index()
                .rename(columns={child_level: "name"}))
    rects = squarify(children[size].clip(lower=0).to_numpy(), *box)
    tiles = children.iloc[[rect.index for rect in rects]].reset_index(drop=True)
    tiles["x0"] = [rect.x for rect in rects]
    tiles["y0"] = [rect.y for rect in rects]
    tiles["x1"] = [rect.x + rect.width for rect in rects]
    tiles["y1"] = [rect.y + rect.height for rect in rects]
    return tiles


def tile_at(tiles: pd.DataFrame, x: float | None, y: float | None) -> int | None:
    """Position (row number) of the tile containing the point (x, y), or None outside every tile."""
    if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)) or tiles.empty:
        return None
    inside = ((tiles["x0"] <= x) & (x <= tiles["x1"]) & (tiles["y0"] <= y) & (y <= tiles["y1"])).to_numpy()
    hits = np.flatnonzero(inside)
    return int(hits[0]) if hits.size else None
