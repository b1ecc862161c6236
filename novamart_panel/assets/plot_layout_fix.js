// Lay out only the figure whose axis changed size (Bokeh 3.10).
//
// When new data changes the width of a figure's tick labels (channel names on a bar chart's axis, "₹5 Cr"
// becoming "₹125 Cr"), PlotView._invalidate_layout_if_needed calls compute_layout, which climbs to the
// document root and lays out every component of the page again: each figure's tick labels are measured and
// each figure repainted (bokeh/bokeh#12129). On the campaigns section that was 0.2–0.5 s of a filter change
// in headless Chromium, most of the time between the new data reaching the page and the chart showing it.
// A figure whose outer size is set from outside (stretched to its column, a fixed height: every chart here)
// keeps its size when an axis grows; only the space inside it moves, so its own layout is enough. Figures
// whose size follows their contents (a fixed frame_width or frame_height) and figures of a GridPlot, which
// aligns its figures' borders, keep Bokeh's whole-page layout.
(function patchPlotLayout(attempt) {
  const Bokeh = window.Bokeh;
  if (!(Bokeh && Bokeh.Models && typeof Bokeh.Models.get === "function")) {
    if (attempt < 4000) {
      setTimeout(() => patchPlotLayout(attempt + 1), 5);
    }
    return;
  }
  const model = Bokeh.Models.get("Plot");
  const PlotView = model && model.prototype.default_view;
  if (!PlotView || PlotView.prototype.__novamartLocalLayout
      || typeof PlotView.prototype._invalidate_layout_if_needed !== "function") {
    return;
  }
  // What LayoutDOMView.compute_layout does for a root, for this figure alone.
  const layoutAlone = function () {
    this.measure_layout();
    this.update_bbox();
    this._compute_layout();
    this.after_layout();
    this._layout_computed = true;
  };
  const keepsItsSize = (view) => view.is_managed && view.model.frame_width == null
    && view.model.frame_height == null && !(view.parent && view.parent.model && view.parent.model.type === "GridPlot");
  const invalidateLayout = PlotView.prototype._invalidate_layout_if_needed;
  PlotView.prototype._invalidate_layout_if_needed = function () {
    if (!keepsItsSize(this)) {
      return invalidateLayout.call(this);
    }
    this.compute_layout = layoutAlone;   // shadows the prototype's method for this call only
    try {
      return invalidateLayout.call(this);
    } finally {
      delete this.compute_layout;
    }
  };
  PlotView.prototype.__novamartLocalLayout = true;
})(0);
