// Serialise BokehJS glyph updates (Bokeh 3.10).
//
// GlyphRendererView.set_data awaits between the glyph, selection, hover and muted glyphs while holding the
// CDSView indices it started with. When a chart updated in place (a HoloViews DynamicMap) receives new data
// of another length during those awaits, a later step selects the new columns with the old indices and
// throws "Size mismatch"; the unhandled rejection then leaves Panel's Tabulator waiting on the document's
// ready promise. Here each view runs one set_data at a time, and a call that a newer one has superseded is
// skipped (the newer call redraws from the current data). Visuals recomputed outside set_data (a CDSView
// mask change, a selection) while the source already holds the next frame would select the new columns with
// the old indices too: they wait for the set_data that follows, which recomputes them.
(function patchGlyphUpdates(attempt) {
  const Bokeh = window.Bokeh;
  if (!(Bokeh && Bokeh.Models && typeof Bokeh.Models.get === "function")) {
    if (attempt < 4000) {
      setTimeout(() => patchGlyphUpdates(attempt + 1), 5);
    }
    return;
  }
  const model = Bokeh.Models.get("GlyphRenderer");
  const View = model && model.prototype.default_view;
  if (!View || View.prototype.__novamartSerialised) {
    return;
  }
  const setData = View.prototype.set_data;
  View.prototype.set_data = function (indices) {
    this.__novamartLatest = (this.__novamartLatest || 0) + 1;
    this.__novamartFull = this.__novamartFull || indices == null;
    const call = this.__novamartLatest;
    const run = async () => {
      if (call !== this.__novamartLatest) {
        return;
      }
      // A skipped full update must not be narrowed to a later call's patched indices.
      const subset = this.__novamartFull ? undefined : indices;
      this.__novamartFull = false;
      try {
        await setData.call(this, subset);
      } catch (error) {
        if (call === this.__novamartLatest) {
          throw error;
        }
      }
    };
    this.__novamartQueue = (this.__novamartQueue || Promise.resolve()).then(run, run);
    return this.__novamartQueue;
  };
  const setVisuals = View.prototype.set_visuals;
  View.prototype.set_visuals = async function () {
    const length = this.model.data_source.get_length();
    if (this.all_indices != null && length != null && this.all_indices.size !== length) {
      return;
    }
    return await setVisuals.call(this);
  };
  View.prototype.__novamartSerialised = true;
  window.__novamartGlyphUpdatesSerialised = true;
})(0);
