// Panel's progress bar (Panel 1.8, BokehJS 3.10) before it is drawn.
//
// A ProgressView listens to its model's value, max and colour from the moment it is built, but creates its
// <progress> element only when it renders, after an asynchronous wait for its resources. A value that arrives
// in between (Budget's fit reports its progress several times a second while its section is being drawn) is set
// on an element that does not exist yet: "Cannot set properties of undefined (setting 'value')". Until the view
// has rendered, those updates are skipped: rendering reads the current value, maximum and colour itself.
(function patchProgress(attempt) {
  const Bokeh = window.Bokeh;
  let model = null;
  try {
    model = Bokeh && Bokeh.Models && Bokeh.Models.get("panel.models.widgets.Progress");
  } catch (error) {
    model = null;   // not registered yet: Panel's extension loads after BokehJS
  }
  if (!model) {
    if (attempt < 4000) {
      setTimeout(() => patchProgress(attempt + 1), 5);
    }
    return;
  }
  const View = model.prototype.default_view;
  if (!View || View.prototype.__novamartBeforeRender) {
    return;
  }
  for (const name of ["setValue", "setMax", "setCSS"]) {
    const original = View.prototype[name];
    if (typeof original === "function") {
      View.prototype[name] = function (...args) {
        return this.progressEl == null ? undefined : original.apply(this, args);
      };
    }
  }
  View.prototype.__novamartBeforeRender = true;
  window.__novamartProgressPatched = true;
})(0);
