// A figure's layout in BokehJS 3.10: the figure whose axis changed size laid out alone, styles read once per
// layout pass instead of once per visual, and a figure without a layout yet left out of a pass.
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
  if (!PlotView || PlotView.prototype.__novamartLocalLayout) {
    return;
  }
  PlotView.prototype.__novamartLocalLayout = true;

  // 1. Lay out only the figure whose axis changed size.
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
  if (typeof PlotView.prototype._invalidate_layout_if_needed === "function") {
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
  }

  // 2. Read a figure's styles once per layout pass.
  //
  // Each visual of a figure (an axis's line, its tick labels, the grid, the background…) asks the browser for
  // the CSS variables that may override it (`--bk-line-color` and the like: VisualProperties._get_css_value),
  // and each axis asks for the figure's font size (PlotView.base_font_size). Both are getComputedStyle calls;
  // in the middle of a layout, whose size changes leave the page's styles out of date, each call makes the
  // browser recompute them. Showing a section of ten figures again made 3,100 such calls (0.45 s of its 1 s in
  // headless Chromium). The app styles its charts through Bokeh properties (HoloViews options, Panel's themes),
  // and no stylesheet of the page, Bokeh's and Panel's included, sets a `--bk-` variable (a browser test checks
  // it): the variables are not read. A figure's font size is read once per synchronous pass (until the next
  // microtask), as BokehJS itself caches the variables.
  let Visual = null;
  try {
    Visual = Bokeh.require("core/visuals/visual").VisualProperties;
  } catch (error) {   // another BokehJS build: leave its visuals alone
  }
  if (Visual && typeof Visual.prototype._get_css_value === "function") {
    Visual.prototype._get_css_value = function () {
      return "";
    };
  }
  const fontSize = Object.getOwnPropertyDescriptor(PlotView.prototype, "base_font_size");
  if (fontSize && typeof fontSize.get === "function") {
    Object.defineProperty(PlotView.prototype, "base_font_size", {
      configurable: true,
      get() {
        if (this.__novamartFontSize === undefined) {
          this.__novamartFontSize = fontSize.get.call(this);
          queueMicrotask(() => { this.__novamartFontSize = undefined; });
        }
        return this.__novamartFontSize;
      },
      set: fontSize.set,
    });
  }

  // 3. Leave a figure out of a layout pass until it has a layout of its own.
  //
  // A column whose children change builds the new children's views one after another (awaiting each), and stores
  // each as it is built; they are rendered and given a layout (`_update_layout`) only once all are built. A
  // ResizeObserver callback in between lays out the page, which walks into a stored but not yet rendered figure:
  // BokehJS skips it in `_compute_layout` (`this.layout != null`), but `_measure_layout` and `_after_layout`
  // read `this.layout` unguarded and throw ("Cannot read properties of undefined (reading 'top_panel')": a first
  // switch to Customer insights, whose views below the first screen come as one such change). The figure's own
  // layout pass, when the column renders it, does that work.
  for (const name of ["_measure_layout", "_after_layout"]) {
    const method = PlotView.prototype[name];
    if (typeof method === "function") {
      PlotView.prototype[name] = function (...args) {
        return this.layout == null ? undefined : method.apply(this, args);
      };
    }
  }
})(0);
