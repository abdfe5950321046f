/*
 * The page's own script: what needs no server.
 *
 * - Each map's figure is built here from what the server sends once per map (coordinates,
 *   colours, the filter mask) and the view's derived stores (selection, rings, focus,
 *   opacity, hidden legend categories): dimming, rings and legend toggles are instant.
 * - Map events become view actions (dash_clientside.set_props on the page's action store):
 *   box or lasso selections as row numbers, clicks, double-clicks, zoom and camera moves.
 * - The hover tooltip: shown beside the point, kept inside the window, hidden when the
 *   pointer leaves the point; its content comes from a small JSON route, cached. A row
 *   focused from a list gets the same card for a few seconds (its ring stays).
 * - Escape lets go of the selection, unless pressed in a text box or a dropdown (there it
 *   closes the list or empties the box; a press on the map takes the focus from them); a
 *   click on anything with data-dashboard-row focuses that row on the map; the page follows
 *   the browser's light or dark scheme; the address bar follows the view.
 */
(function () {
  "use strict";

  const PAGE_ACTIONS = { type: "dashboard-action", panel: "page" };
  // Two presses on a map this close in time (and place) are a double click.
  const DOUBLE_MS = 450;
  // Points outside a selection are drawn this much fainter.
  const DIM = 0.3;
  const maps = {}; // panel index -> {base, arrays, visible, graphId, table, ...}
  let seq = 0;

  function act(action) {
    seq += 1;
    const payload = Object.assign({ seq: `${Date.now()}-${seq}` }, action);
    window.dash_clientside.set_props(PAGE_ACTIONS, { data: payload });
  }

  // -- typed arrays -----------------------------------------------------------------------

  const TYPES = {
    i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array,
    i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array,
  };

  function decode(spec) {
    if (!spec || typeof spec !== "object" || !spec.bdata) {
      return spec;
    }
    const binary = atob(spec.bdata);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return new TYPES[spec.dtype](bytes.buffer);
  }

  // -- the figure -------------------------------------------------------------------------

  function rowsOf(store, table) {
    if (!store || store.table !== table || !Array.isArray(store.rows)) {
      return [];
    }
    return store.rows;
  }

  function ringTrace(state, rows, name, colour, dims, width, size) {
    const a = state.arrays;
    const shown = rows.filter((r) => r >= 0 && r < state.n && state.visible[r]);
    const trace = {
      type: dims === 3 ? "scatter3d" : "scattergl",
      mode: "markers",
      name: name,
      showlegend: shown.length > 0,
      hoverinfo: "skip",
      marker: {
        size: size,
        color: colour,
        symbol: "circle-open",
        line: { width: width, color: colour },
      },
      x: shown.map((r) => a.x[r]),
      y: shown.map((r) => a.y[r]),
    };
    if (dims === 3) {
      trace.z = shown.map((r) => a.z[r]);
    }
    return trace;
  }

  function themeLayout(theme) {
    const dark = theme === "dark";
    return {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: dark ? "#dee2e6" : "#212529" },
      grid: dark ? "#343a40" : "#e9ecef",
    };
  }

  // A message in place of the map, in lines of at most 70 characters (plotly does not wrap
  // an annotation: a long one was cut off at both sides of the map).
  function messageFigure(text) {
    const escape = (line) => line.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const lines = [];
    String(text).split("\n").forEach((paragraph) => {
      let line = "";
      paragraph.split(" ").forEach((word) => {
        if (line && (line + " " + word).length > 70) {
          lines.push(line);
          line = word;
        } else {
          line = line ? `${line} ${word}` : word;
        }
      });
      lines.push(line);
    });
    const safe = lines.map(escape).join("<br>");
    return {
      data: [],
      layout: {
        xaxis: { visible: false },
        yaxis: { visible: false },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
        annotations: [{
          text: safe, showarrow: false, font: { size: 14 },
          xref: "paper", yref: "paper", x: 0.5, y: 0.5,
        }],
      },
    };
  }

  // The layout every map starts from, and its axes' look.
  function mapLayout(key, state, theme, dragmode) {
    const themed = themeLayout(theme);
    const axis = {
      showticklabels: false, title: null, zeroline: false, showgrid: true,
      gridcolor: themed.grid,
    };
    const layout = {
      uirevision: key,
      // Every build drops plotly's own selection (its box and dimming): the view's is drawn
      // by the opacity, and a box plotly kept would be re-sent at the next redraw.
      selectionrevision: state.builds,
      margin: { l: 10, r: 10, t: 10, b: 10 },
      paper_bgcolor: themed.paper_bgcolor,
      plot_bgcolor: themed.plot_bgcolor,
      font: themed.font,
      showlegend: true,
      legend: { itemsizing: "constant", x: 0, y: 1, bgcolor: "rgba(127,127,127,0.12)" },
      hovermode: "closest",
      dragmode: dragmode,
    };
    return { layout: layout, axis: axis };
  }

  // A 2D map's axis ranges: every rebuild carries the ranges on screen (plotly's uirevision
  // alone let the rebuild that follows a zoom, its camera action, snap back to the full
  // extent); the first build takes the view's camera (a link), else ``fallback`` if given.
  function keepRanges(key, state, layout, camera, fallback) {
    const live = state.cameraApplied ? liveRanges(key) : null;
    const first = !state.cameraApplied && camera && camera.x && camera.y ? camera : null;
    const ranges = live || first || (!state.cameraApplied ? fallback : null);
    if (ranges) {
      layout.xaxis.range = ranges.x;
      layout.yaxis.range = ranges.y;
    }
  }

  function mapFigure(panel, coords, colours, mask, selection, highlight, focus, mapStates,
    rings, theme, density, labels) {
    const key = String(panel);
    const gd = graphDiv(key);
    if (gd && (gd.__dashboardPressed || Date.now() < (gd.__dashboardQuietUntil || 0))) {
      // Not under a drag, nor just after one: plotly's box and lasso (and its selection,
      // run up to SELECTDELAY after the last move) fail on traces replaced meanwhile. The
      // newest figure is drawn once the map is quiet.
      held[key] = Array.prototype.slice.call(arguments);
      return window.dash_clientside.no_update;
    }
    delete held[key];
    if (coords && coords.message) {
      delete maps[key];
      imageLayer(key, null, null, false);
      return messageFigure(coords.message);
    }
    if (coords && coords.density) {
      return densityFigure(panel, coords, colours, selection, highlight, focus, mapStates,
        rings, theme, density, labels);
    }
    if (!coords || !coords.x || !colours || colours.key !== coords.key) {
      return window.dash_clientside.no_update; // the other half is on its way
    }
    let state = maps[key];
    if (!state || state.key !== coords.key) {
      hideTooltip(); // a card of the old map's row is not about this map
      // A new map: its coordinates decoded once, kept while it is shown.
      state = maps[key] = {
        key: coords.key,
        n: coords.n,
        dims: coords.dims,
        table: coords.table,
        graphId: `scatter-${panel}-graph`,
        arrays: { x: decode(coords.x), y: decode(coords.y), z: coords.z ? decode(coords.z) : null },
      };
    }
    if (state.revision !== colours.revision) {
      state.revision = colours.revision;
      state.arrays.codes = colours.categories ? decode(colours.marker.color) : null;
      state.size = decode(colours.size);
    }
    state.coords = coords;
    state.colours = colours;
    const base = {
      key: coords.key, table: coords.table, dims: coords.dims, n: coords.n,
      pointSize: coords.pointSize, categories: colours.categories,
      marker: colours.marker,
    };
    const a = state.arrays;
    const n = state.n;
    const view = (mapStates || {})[key] || {};
    const opacity = typeof view.opacity === "number" ? view.opacity : 0.85;
    // What is drawn: rows with coordinates, kept by the filters, not hidden in the legend.
    if (state.maskRef !== mask) {
      state.maskRef = mask;
      state.shown = mask && mask.key === base.key && mask.shown ? decode(mask.shown) : null;
    }
    const shown = state.shown;
    const hidden = new Set(view.hidden || []);
    const hiddenCodes = new Set();
    (base.categories || []).forEach((name, code) => {
      if (hidden.has(name)) {
        hiddenCodes.add(code);
      }
    });
    const visible = new Uint8Array(n);
    let anyHidden = false; // rows with coordinates that a filter or the legend hides
    for (let i = 0; i < n; i++) {
      const finite = Number.isFinite(a.x[i]) && Number.isFinite(a.y[i]) &&
        (!a.z || Number.isFinite(a.z[i]));
      visible[i] = finite && (!shown || shown[i]) && !(a.codes && hiddenCodes.has(a.codes[i]))
        ? 1 : 0;
      anyHidden = anyHidden || (finite && !visible[i]);
    }
    state.visible = visible;
    const selected = rowsOf(selection, base.table);
    const isSelected = new Uint8Array(n);
    selected.forEach((r) => { if (r >= 0 && r < n) { isSelected[r] = 1; } });
    const anySelected = selected.some((r) => r >= 0 && r < n && visible[r]);
    state.builds = (state.builds || 0) + 1;
    state.isSelected = anySelected ? isSelected : null;
    state.opacity = opacity;

    const marker = Object.assign({}, base.marker, { size: state.size });
    const points = {
      type: base.dims === 3 ? "scatter3d" : "scattergl",
      mode: "markers",
      showlegend: false,
      marker: marker,
    };
    if (base.dims === 2) {
      // An opacity a point only when some points differ: plotly's draw of 100k points took
      // 4.6 s with one here, 2.2-3.0 s without. Rows without coordinates are not drawn.
      if (!anySelected && !anyHidden) {
        marker.opacity = opacity;
      } else {
        const alpha = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          alpha[i] = !visible[i] ? 0 : (anySelected && !isSelected[i] ? opacity * DIM : opacity);
        }
        marker.opacity = alpha;
      }
      points.x = a.x;
      points.y = a.y;
      points.hoverinfo = "none";
      // Plotly's own selection marks stay off: the selection is drawn by the opacity above.
      points.selected = { marker: { opacity: opacity } };
      points.unselected = { marker: { opacity: opacity } };
    } else {
      // Scatter3d has no per-point opacity: rows not drawn get no coordinates.
      const hide = (arr) => {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) { out[i] = visible[i] ? arr[i] : NaN; }
        return out;
      };
      marker.opacity = opacity;
      points.x = hide(a.x);
      points.y = hide(a.y);
      points.z = hide(a.z);
      points.hoverinfo = "none"; // the page's card, as in 2D
    }
    const traces = [points];
    const dims = base.dims;
    const ringSize = dims === 2 ? base.pointSize * 2.2 : base.pointSize * 1.2;
    if (dims === 3 && anySelected && selected.length <= 20000) {
      traces.push(ringTrace(state, selected, "selected", "#0d6efd", 3, 2, ringSize));
    }
    const high = rowsOf(highlight, base.table);
    if (high.length) {
      traces.push(ringTrace(state, high, highlight.label || "highlighted", "#111", dims,
        high.length > 500 ? 1 : 2, high.length > 500 ? ringSize * 0.7 : ringSize));
    }
    (rings || []).forEach((ring) => {
      const rows = rowsOf(ring, base.table);
      if (rows.length) {
        const many = rows.length > 500;
        traces.push(ringTrace(state, rows, ring.label || "ringed", ring.colour || "#111",
          dims, many ? 1 : 2, many ? ringSize * 0.7 : ringSize));
      }
    });
    const focusRow = focus && focus.table === base.table && Number.isInteger(focus.row) &&
      focus.row < n && visible[focus.row] ? focus.row : null;
    if (focusRow !== null) {
      traces.push(ringTrace(state, [focusRow], "focused", "#fd7e14", dims, 3, ringSize * 1.6));
    }
    const { layout, axis } = mapLayout(base.key, state, theme,
      dims === 2 ? (state.dragmode || "pan") : "orbit");
    if (dims === 2) {
      layout.xaxis = Object.assign({}, axis);
      layout.yaxis = Object.assign({ scaleanchor: "x", scaleratio: 1 }, axis);
      keepRanges(key, state, layout, view.camera, null);
    } else {
      const blank = Object.assign({}, axis, { title: { text: "" }, backgroundcolor: "rgba(0,0,0,0)" });
      layout.scene = { xaxis: blank, yaxis: blank, zaxis: blank, aspectmode: "data" };
      // As in 2D: every rebuild carries the camera on screen (plotly's uirevision alone let
      // about every second turn or wheel zoom snap back to the default camera).
      const live = state.cameraApplied ? liveCamera(key) : null;
      if (live) {
        layout.scene.camera = live;
      } else if (view.camera && view.camera.eye && !state.cameraApplied) {
        layout.scene.camera = view.camera;
      }
    }
    takeLabels(key, state, labels, view);
    if (dims === 2) {
      layout.annotations = labelAnnotations(key, state, layout);
    }
    state.cameraApplied = true;
    state.focusRow = focusRow;
    window.setTimeout(() => {
      bind(key);
      showFocus(key, focus);
      imageLayer(key, state, coords.images, Boolean(view.images));
      relabel(key);
    }, 0);
    return { data: traces, layout: layout };
  }

  // -- a density map: an image of the region on screen, or its rows as points ----------------

  // A map of more rows than its `density_above` (plugins/scatter_density.py): the server
  // sends an image of the region on screen (again after each zoom or pan), or, once that
  // region holds few enough rows, those rows as points (with their row numbers); and the
  // coordinates of the rows that rings and the focus mark.
  function densityFigure(panel, coords, colours, selection, highlight, focus, mapStates,
    rings, theme, density, labels) {
    const key = String(panel);
    if (!colours || colours.key !== coords.key || !density || density.key !== coords.key) {
      return window.dash_clientside.no_update; // the rest is on its way
    }
    let state = maps[key];
    if (!state || state.key !== coords.key) {
      hideTooltip(); // a card of the old map's row is not about this map
      state = maps[key] = {
        key: coords.key, n: coords.n, dims: 2, table: coords.table,
        graphId: `scatter-${panel}-graph`, density: true,
      };
    }
    state.coords = coords;
    state.colours = colours;
    state.lastDensity = density;
    const view = (mapStates || {})[key] || {};
    const opacity = typeof view.opacity === "number" ? view.opacity : 0.85;
    // Rows that rings and the focus mark, by row number (what ringTrace reads).
    const marks = density.marks || { rows: [], x: [], y: [] };
    const xs = {};
    const ys = {};
    const shown = {};
    marks.rows.forEach((row, i) => { xs[row] = marks.x[i]; ys[row] = marks.y[i]; shown[row] = 1; });
    state.arrays = { x: xs, y: ys, z: null };
    state.visible = shown;
    state.builds = (state.builds || 0) + 1;
    const selected = rowsOf(selection, coords.table);
    const points = density.points;
    let main;
    let imageState = null;
    if (points) {
      const rows = decode(points.rows);
      state.points = Array.isArray(rows) ? new Int32Array(0) : rows;
      const count = state.points.length;
      const marker = Object.assign({}, colours.marker, { size: coords.pointSize });
      if (points.color) {
        marker.color = decode(points.color);
      }
      const chosen = new Set(selected);
      let anySelected = false;
      for (let i = 0; i < count && !anySelected; i++) { anySelected = chosen.has(state.points[i]); }
      let isSelected = null;
      if (anySelected) {
        const alpha = new Float32Array(count);
        isSelected = new Uint8Array(count);
        for (let i = 0; i < count; i++) {
          isSelected[i] = chosen.has(state.points[i]) ? 1 : 0;
          alpha[i] = isSelected[i] ? opacity : opacity * DIM;
        }
        marker.opacity = alpha;
      } else {
        marker.opacity = opacity;
      }
      main = {
        type: "scattergl", mode: "markers", showlegend: false, marker: marker,
        x: decode(points.x), y: decode(points.y), hoverinfo: "none",
        selected: { marker: { opacity: opacity } }, unselected: { marker: { opacity: opacity } },
      };
      if (density.images && density.images.url) {
        imageState = pointImages(state, main, colours, isSelected, opacity);
      }
    } else {
      // Nothing to hover or click: two unseen points at the image's corners, so that plotly
      // still draws a box or lasso (and says where it was).
      state.points = null;
      const r = density.region;
      const marker = { opacity: 0, size: 1 };
      if (colours.marker && colours.marker.showscale) {
        // A colour by numbers: the two unseen points carry the scale, so its bar is drawn.
        Object.assign(marker, colours.marker, {
          color: [colours.marker.cmin, colours.marker.cmax], opacity: 0, size: 1,
        });
      }
      main = {
        type: "scattergl", mode: "markers", showlegend: false, hoverinfo: "none",
        x: [r[0], r[1]], y: [r[2], r[3]], marker: marker,
      };
    }
    const traces = [main];
    const ringSize = coords.pointSize * 2.2;
    const high = rowsOf(highlight, coords.table);
    if (high.length) {
      traces.push(ringTrace(state, high, highlight.label || "highlighted", "#111", 2,
        high.length > 500 ? 1 : 2, ringSize));
    }
    (rings || []).forEach((ring) => {
      const rows = rowsOf(ring, coords.table);
      if (rows.length) {
        traces.push(ringTrace(state, rows, ring.label || "ringed", ring.colour || "#111", 2,
          rows.length > 500 ? 1 : 2, ringSize));
      }
    });
    const focusRow = focus && focus.table === coords.table && Number.isInteger(focus.row) &&
      shown[focus.row] ? focus.row : null;
    if (focusRow !== null) {
      traces.push(ringTrace(state, [focusRow], "focused", "#fd7e14", 2, 3, ringSize * 1.6));
    }
    const region = density.region;
    const { layout, axis } = mapLayout(coords.key, state, theme, state.dragmode || "pan");
    layout.xaxis = Object.assign({}, axis);
    layout.yaxis = Object.assign({ scaleanchor: "x", scaleratio: 1 }, axis);
    layout.images = density.image ? [{
      source: density.image, xref: "x", yref: "y", x: region[0], y: region[3],
      sizex: region[1] - region[0], sizey: region[3] - region[2],
      xanchor: "left", yanchor: "top", sizing: "stretch", layer: "below",
    }] : [];
    keepRanges(key, state, layout, view.camera, {
      x: [coords.extent[0], coords.extent[1]], y: [coords.extent[2], coords.extent[3]],
    });
    takeLabels(key, state, labels, view);
    layout.annotations = labelAnnotations(key, state, layout);
    state.cameraApplied = true;
    state.focusRow = focusRow;
    window.setTimeout(() => {
      bind(key);
      showFocus(key, focus);
      relabel(key);
      imageLayer(key, imageState, density.images || { notice: DENSITY_IMAGES },
        Boolean(view.images));
    }, 0);
    return { data: traces, layout: layout };
  }

  // What the image layer (assets/image_map.js) draws for a zoomed density map's points:
  // point i's image is tile i of the atlas the server built for these rows, framed in the
  // point's colour and dimmed as the point is.
  function pointImages(state, trace, colours, isSelected, opacity) {
    const n = trace.x.length;
    const marker = colours.marker || {};
    const image = {
      key: state.key, dims: 2, n: n, builds: state.builds, opacity: opacity,
      arrays: { x: trace.x, y: trace.y, z: null, codes: null },
      visible: new Uint8Array(n).fill(1), isSelected: isSelected, coords: state.coords,
      colours: colours,
    };
    if (Array.isArray(marker.colorscale) && trace.marker.color && trace.marker.color.length === n) {
      image.arrays.codes = trace.marker.color; // a category code a point
    } else if (marker.colorscale === "Viridis" && trace.marker.color &&
      trace.marker.color.length === n) {
      // Numbers: the frame takes each point's value on the scale, as its dot does.
      image.colours = Object.assign({}, colours, { marker: Object.assign({}, marker, { color: {} }) });
      image.values = trace.marker.color;
      image.valuesRevision = image.colours.revision;
    }
    return image;
  }

  // -- cluster labels (the Labels switch, plugins/scatter_labels.py) ------------------------

  // Most labels on a map at once, and a label's box in CSS pixels (text at 12 px).
  const LABELS_AT_MOST = 40;
  const LABEL_CHAR_PX = 7;
  const LABEL_HEIGHT_PX = 20;
  // Plotly's own font for a label's text (the figure sets none), and what its box adds to
  // the text: border and padding each side, and a gap to the next label.
  const LABEL_FONT = '12px "Open Sans", verdana, arial, sans-serif';
  const LABEL_BOX_PX = 12;
  const labelWidths = new Map();

  // How wide a label's box is drawn, measured in the label's font (an estimate of 7 px a
  // character made labels of clusters side by side seem to overlap, and one was left out).
  function labelWidth(text) {
    let width = labelWidths.get(text);
    if (width === undefined) {
      const canvas = labelWidth.canvas || (labelWidth.canvas = document.createElement("canvas"));
      const context = canvas.getContext ? canvas.getContext("2d") : null;
      if (context) {
        context.font = LABEL_FONT;
        width = context.measureText(text).width + LABEL_BOX_PX;
      } else {
        width = LABEL_CHAR_PX * text.length + LABEL_BOX_PX;
      }
      if (labelWidths.size > 5000) { labelWidths.clear(); }
      labelWidths.set(text, width);
    }
    return width;
  }

  // The labels of this map from the server's answer, or none (switch off, another map).
  function takeLabels(key, state, labels, view) {
    const on = Boolean(view && view.labels);
    const mine = on && labels && labels.key === state.key;
    state.labels = mine && Array.isArray(labels.labels) ? labels.labels : null;
    const el = document.getElementById(`scatter-${key}-labels-notice`);
    // The first time on a big map, finding and naming the clusters takes a while.
    const waiting = on && !mine ? "Labels: finding and naming the map's clusters…" : "";
    const text = mine && labels.notice ? labels.notice : waiting;
    if (el && el.textContent !== text) {
      el.textContent = text;
      el.className = text ? "small text-warning-emphasis" : "";
    }
  }

  // The axis ranges a 2D map is drawn with (plotly's own after a draw; before it, those the
  // figure sets, else the points' extent) and the plot's size in pixels.
  function labelFrame(key, state, layout) {
    const gd = graphDiv(key);
    const full = gd && gd._fullLayout;
    if (full && full.xaxis && full.yaxis && full.xaxis.range && full._size) {
      return { x: full.xaxis.range.map(Number), y: full.yaxis.range.map(Number),
        w: full._size.w, h: full._size.h, taken: modebarBox(gd, full._size) };
    }
    const w = gd ? gd.clientWidth : 600;
    const h = gd ? gd.clientHeight : 400;
    if (layout && layout.xaxis && layout.xaxis.range) {
      return { x: layout.xaxis.range, y: layout.yaxis.range, w: w, h: h };
    }
    const e = state.coords && state.coords.extent;
    if (e) {
      return { x: [e[0], e[1]], y: [e[2], e[3]], w: w, h: h };
    }
    return null;
  }

  // Where a label's box from ``lo`` to ``hi`` (pixels on an axis of ``size``) is drawn: in the
  // middle of its point, else, where it would stick out of the plot, from the plot's edge
  // (``side`` is "start" or "end" and ``shift`` the pixels from the point to that edge).
  function slideInto(lo, hi, size, point, offset) {
    if (lo < 0 || hi - lo > size) {
      return { side: "start", shift: -point, moved: -lo };
    }
    if (hi > size) {
      return { side: "end", shift: size - point, moved: size - hi };
    }
    return { side: "middle", shift: offset || 0, moved: 0 };
  }

  // How many pixels a label goes up from its cluster's point: none, unless the cluster
  // (most of its points within ``reach`` of the point) is so small on screen that the label
  // would hide it; then the label sits just above it.
  function labelLift(label, frame, half) {
    const reach = label.reach;
    if (typeof reach !== "number" || !(reach >= 0)) {
      return 0; // not known (a label from elsewhere): on its point
    }
    const reachX = reach * frame.w / Math.abs(frame.x[1] - frame.x[0]);
    const reachY = reach * frame.h / Math.abs(frame.y[1] - frame.y[0]);
    // A cluster up to twice as tall as the label and no wider would be mostly under it.
    const hidden = reachY <= LABEL_HEIGHT_PX && reachX <= half;
    return hidden ? LABEL_HEIGHT_PX / 2 + reachY + 3 : 0;
  }

  // The mode bar's box in the plot's pixels, where it reaches into the plot (it shows over
  // the map's top right corner while the pointer is on the map, and would hide a label).
  function modebarBox(gd, size) {
    const bar = gd.querySelector(".modebar");
    const plot = gd.getBoundingClientRect();
    const box = bar ? bar.getBoundingClientRect() : null;
    if (!box || !box.width) {
      return [];
    }
    const [left, top] = [plot.left + size.l, plot.top + size.t];
    return [[box.left - left, box.top - top, box.right - left, box.bottom - top]];
  }

  // Which labels show: biggest clusters first, each only where its box overlaps none placed
  // before it, so a zoom in names smaller clusters. A label whose cluster point is in view
  // shows even at the plot's edge: it is drawn from that edge instead (``xanchor``, ``xshift``
  // and the like, as plotly's annotations take them), because a cluster in view without its
  // name looks like a bug. A small cluster's label sits above it (``labelLift``) rather than
  // on it. ``frame.taken`` are boxes no label may overlap (the mode bar).
  function chooseLabels(labels, frame) {
    const chosen = [];
    const boxes = (frame.taken || []).slice();
    const [x0, x1] = frame.x;
    const [y0, y1] = frame.y;
    const biggestFirst = labels.slice().sort((a, b) => b.rows - a.rows || a.cluster - b.cluster);
    for (const label of biggestFirst) {
      if (chosen.length >= LABELS_AT_MOST) { break; }
      const px = ((label.x - x0) / (x1 - x0)) * frame.w;
      const py = (1 - (label.y - y0) / (y1 - y0)) * frame.h;
      if (!(px >= 0 && px <= frame.w && py >= 0 && py <= frame.h)) { continue; }
      const half = labelWidth(String(label.text)) / 2;
      const lift = labelLift(label, frame, half);
      const middle = py - lift;
      const box = [px - half, middle - LABEL_HEIGHT_PX / 2, px + half,
        middle + LABEL_HEIGHT_PX / 2];
      const across = slideInto(box[0], box[2], frame.w, px);
      const down = slideInto(box[1], box[3], frame.h, py, -lift);
      const placed = [box[0] + across.moved, box[1] + down.moved, box[2] + across.moved,
        box[3] + down.moved];
      if (boxes.some((b) => b[0] < placed[2] && placed[0] < b[2] && b[1] < placed[3] &&
        placed[1] < b[3])) {
        continue;
      }
      boxes.push(placed);
      chosen.push(Object.assign({}, label, {
        xanchor: { start: "left", middle: "center", end: "right" }[across.side],
        xshift: Math.round(across.shift),
        // Pixels run down the page, plotly's yshift up it.
        yanchor: { start: "top", middle: "middle", end: "bottom" }[down.side],
        yshift: -Math.round(down.shift),
      }));
    }
    return chosen;
  }

  function labelAnnotations(key, state, layout) {
    const frame = state.labels && state.labels.length ? labelFrame(key, state, layout) : null;
    if (!frame || !(frame.x[1] > frame.x[0]) || !(frame.y[1] > frame.y[0])) {
      return [];
    }
    const escape = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;")
      .replace(/>/g, "&gt;");
    return chooseLabels(state.labels, frame).map((label) => ({
      x: label.x, y: label.y, xref: "x", yref: "y", text: escape(label.text),
      showarrow: false, captureevents: false, font: { size: 12, color: "#212529" },
      bgcolor: "rgba(255,255,255,0.8)", bordercolor: "rgba(33,37,41,0.3)", borderpad: 2,
      xanchor: label.xanchor, xshift: label.xshift, yanchor: label.yanchor,
      yshift: label.yshift, name: `cluster-${label.cluster}`,
    }));
  }

  // Choose the labels again for the map as drawn now (after a draw, a zoom or a pan).
  function relabel(key) {
    const state = maps[key];
    const gd = graphDiv(key);
    if (!state || !gd || !gd._fullLayout || state.dims !== 2) {
      return;
    }
    const wanted = labelAnnotations(key, state, null);
    // A label slid in from the edge moves when the view does: its shift is part of the test.
    const placing = (a) => `${a.name}@${a.xanchor}${a.xshift},${a.yanchor}${a.yshift}`;
    const now = (gd.layout.annotations || []).map(placing).join();
    if (wanted.map(placing).join() !== now) {
      window.Plotly.relayout(gd, { annotations: wanted });
    }
  }

  // How long after a zoom or pan a density map's view (the link) follows.
  const VIEW_AFTER_DENSITY_MS = 900;

  // How long a zoom or pan of a density map must settle before its image is asked for.
  const DENSITY_SETTLE_MS = 120;

  // Whether the density map's last image (drawn with a margin round the view it was asked
  // for) still serves the view ``camera``: inside it, and not zoomed in so far that its
  // pixels show (or, for points, all of them in view already). A pan within the margin, or
  // plotly's own fit of the ranges to the map's shape, then asks for nothing.
  function densityCovers(state, camera) {
    const density = state && state.density ? state.lastDensity : null;
    if (!density || !camera || !density.asked) {
      return false;
    }
    const r = density.region;
    const [x0, x1] = [Math.min(...camera.x), Math.max(...camera.x)];
    const [y0, y1] = [Math.min(...camera.y), Math.max(...camera.y)];
    const inside = x0 >= r[0] && x1 <= r[1] && y0 >= r[2] && y1 <= r[3];
    const asked = density.asked;
    const scale = (x1 - x0) / Math.max(asked[1] - asked[0], 1e-12);
    // Zoomed in by more than a sixth, the image's pixels would show: a new one is drawn.
    return inside && (density.points ? true : scale > 0.85 && scale < 1.4);
  }

  const DENSITY_IMAGES = "Images on the map: zoom in to see the points' images.";

  // The row the server found under the pointer over a density image: its tooltip, if the
  // pointer has not moved on since.
  function densityHovered(panel, hovered) {
    const key = String(panel);
    const state = maps[key];
    if (!state || !hovered || hovered.key !== state.key || hovered.seq !== state.hoverSeq) {
      return;
    }
    if (Number.isInteger(hovered.row) && !state.points) {
      const x = hovered.px;
      const y = hovered.py;
      state.hovered = { row: hovered.row, px: x, py: y };
      showTooltip(key, hovered.row, { x0: x - 6, x1: x + 6, y0: y - 6, y1: y + 6 });
    } else {
      state.hovered = null;
      hideTooltip();
    }
  }

  // A click (no drag) on a density image where the card names a row selects that row, as a
  // click on a point does.
  function densityClicked(key, down, up) {
    const state = maps[key];
    const hovered = state && state.density && !state.points ? down.hovered : null;
    const still = Math.abs(up.clientX - down.x) + Math.abs(up.clientY - down.y) < 6;
    if (!hovered || !still || up.timeStamp - down.stamp > 500) {
      return false;
    }
    if (Math.abs(up.clientX - hovered.px) + Math.abs(up.clientY - hovered.py) > 16) {
      return false;
    }
    act({ op: "select", table: state.table, rows: [hovered.row] });
    return true;
  }

  // Over a density image, the pointer's place (in the map's units) goes to the server,
  // which answers with the nearest shown row (`densityHovered`).
  function densityPointer(key, gd, event) {
    const state = maps[key];
    const full = gd._fullLayout;
    if (!state || !state.density || state.points || !full || !full.xaxis || !full.yaxis) {
      return;
    }
    const box = gd.getBoundingClientRect();
    const px = event.clientX - box.left - full._size.l;
    const py = event.clientY - box.top - full._size.t;
    if (px < 0 || py < 0 || px > full._size.w || py > full._size.h) {
      return;
    }
    const x = full.xaxis.p2l(px);
    const y = full.yaxis.p2l(py);
    const r = Math.abs(full.xaxis.p2l(px + 10) - x);
    state.hoverSeq = (state.hoverSeq || 0) + 1;
    window.dash_clientside.set_props(`scatter-${key}-hover`, {
      data: { key: state.key, x: x, y: y, r: r, px: event.clientX, py: event.clientY,
        seq: state.hoverSeq },
    });
  }

  // A box or lasso drawn over a density image: its outline goes to the server, which
  // selects the shown rows inside (plugins/scatter_density.py).
  function densityRegion(key, event) {
    const state = maps[key];
    let polygon = null;
    if (event.range && event.range.x && event.range.y) {
      const [x0, x1] = event.range.x;
      const [y0, y1] = event.range.y;
      polygon = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
    } else if (event.lassoPoints && event.lassoPoints.x) {
      polygon = event.lassoPoints.x.map((x, i) => [x, event.lassoPoints.y[i]]);
    }
    if (polygon && polygon.length >= 3) {
      window.dash_clientside.set_props(`scatter-${key}-region`, {
        data: { key: state.key, polygon: polygon.slice(0, 2000), seq: Date.now() },
      });
    }
  }

  // -- map events -------------------------------------------------------------------------

  // Points drawn as their images (assets/image_map.js), over the map's own points.
  function imageLayer(key, state, spec, on) {
    if (window.dashboardImageMap) {
      window.dashboardImageMap.update(key, state, spec, on);
    }
  }

  function graphDiv(key) {
    return document.querySelector(`#scatter-${key}-graph .js-plotly-plot`);
  }

  // Figures that came while a pointer button was down on their map, by panel index.
  const held = {};
  // How long after a release plotly may still be selecting (its SELECTDELAY is 100 ms).
  const QUIET_MS = 250;

  function drawHeld(key) {
    const args = held[key];
    if (!args) {
      return;
    }
    const figure = mapFigure.apply(null, args);
    if (figure !== window.dash_clientside.no_update) {
      window.dash_clientside.set_props(`scatter-${key}-graph`, { figure: figure });
    }
  }

  // The 2D map's zoomed ranges as drawn now, or null when it shows its full extent.
  function liveRanges(key) {
    const gd = graphDiv(key);
    const full = gd && gd._fullLayout;
    if (!full || !full.xaxis || !full.yaxis || full.xaxis.autorange || !full.xaxis.range) {
      return null;
    }
    return { x: full.xaxis.range.slice(), y: full.yaxis.range.slice() };
  }

  // The 3D map's camera as drawn now (plotly's scene holds it; its layout may lag behind a
  // turn), or null before the scene is drawn.
  function liveCamera(key) {
    const gd = graphDiv(key);
    const scene = gd && gd._fullLayout && gd._fullLayout.scene && gd._fullLayout.scene._scene;
    if (!scene || typeof scene.getCamera !== "function") {
      return null;
    }
    return JSON.parse(JSON.stringify(scene.getCamera()));
  }

  // A 2D point's place in the window, as a small box round it (null without a layout).
  function screenBox(gd, x, y) {
    const full = gd._fullLayout;
    if (!full || !full.xaxis || !Number.isFinite(x) || !Number.isFinite(y)) {
      return null;
    }
    const box = gd.getBoundingClientRect();
    const px = box.left + full._size.l + full.xaxis.l2p(x);
    const py = box.top + full._size.t + full.yaxis.l2p(y);
    return { x0: px - 3, x1: px + 3, y0: py - 3, y1: py + 3 };
  }

  function rowsFromEvent(key, event) {
    const state = maps[key];
    const rows = [];
    if (state.density && !state.points) {
      return rows; // an image: no points to name (see densityRegion, densityPointer)
    }
    ((event && event.points) || []).forEach((p) => {
      const index = p.pointNumber !== undefined ? p.pointNumber : p.pointIndex;
      if (p.curveNumber !== 0 || !Number.isInteger(index)) {
        return;
      }
      if (state.points) { // a density map's rows in view: point i is row points[i]
        if (index < state.points.length) {
          rows.push(state.points[index]);
        }
      } else if (state.visible[index]) {
        rows.push(index);
      }
    });
    return rows;
  }

  function bind(key) {
    const gd = graphDiv(key);
    if (!gd || gd.__dashboardBound || typeof gd.on !== "function") {
      return;
    }
    gd.__dashboardBound = true;
    let clickedAt = 0;
    let pressed = false;
    let releasedAt = 0;
    let press = 0; // presses of a pointer button on this map
    let answered = -1; // the press whose selection was sent: one per press
    // A second press soon after the first, at the same place, is a double click: it lets
    // go of the selection (as Escape does) in every drag mode. (In select mode plotly says
    // nothing of a double click, the browser's dblclick does not reach us, and plotly's
    // clicks select the point under the pointer.)
    let doubleAt = 0;
    let lastDown = { at: 0, x: 0, y: 0 };
    // plotly keeps a press (or a wheel zoom) from moving the keyboard focus: the map in use
    // takes it from the box or list used before, so Escape then means "let go" (`typedIn`).
    const takeFocus = () => {
      const active = document.activeElement;
      if (active && active !== document.body && active.blur) {
        active.blur();
      }
    };
    gd.addEventListener("wheel", takeFocus, { capture: true, passive: true });
    gd.addEventListener("pointerdown", (event) => {
      takeFocus();
      pressed = true;
      gd.__dashboardPressed = true;
      press += 1;
      const now = Date.now();
      const near = Math.abs(event.clientX - lastDown.x) + Math.abs(event.clientY - lastDown.y) < 10;
      if (now - lastDown.at < DOUBLE_MS && near) {
        doubleAt = now;
        answered = press;
        act({ op: "escape" });
      }
      // The row the card names now: plotly's drag cover makes the map lose the pointer
      // (and the card) as soon as the button is down.
      const hovered = maps[key] ? maps[key].hovered : null;
      lastDown = { at: now, x: event.clientX, y: event.clientY, stamp: event.timeStamp, hovered };
    }, true);

    const release = (event) => {
      if (pressed) {
        // Before plotly's own handlers (which take a click on empty map as "let go"): a
        // click on a density image where the card names a row selects it.
        if (event && event.type === "pointerup" && Date.now() - doubleAt > DOUBLE_MS &&
          densityClicked(key, lastDown, event)) {
          clickedAt = Date.now();
          answered = press;
        }
        pressed = false;
        gd.__dashboardPressed = false;
        releasedAt = Date.now();
        gd.__dashboardQuietUntil = releasedAt + QUIET_MS;
        // After plotly's own handlers of this release (its selection) have run.
        window.setTimeout(() => drawHeld(key), QUIET_MS + 10);
      }
    };
    window.addEventListener("pointerup", release, true);
    window.addEventListener("pointercancel", release, true);
    // Plotly emits more selection events as it redraws (an empty one after each new
    // figure): only the first of a press of the person's own, just now, counts.
    const byPerson = () => (pressed || Date.now() - releasedAt < 500) && answered !== press;
    // Set while this script takes plotly's own box or lasso off the map.
    let tidying = false;
    gd.on("plotly_selected", (event) => {
      if (!event || tidying || !byPerson()) {
        return;
      }
      answered = press;
      if (maps[key].density && !maps[key].points) {
        densityRegion(key, event);
        return;
      }
      act({ op: "select", table: maps[key].table, rows: rowsFromEvent(key, event) });
    });
    // A click on empty map in select mode, or a double click: let go of the selection, the
    // focused point and its rings, as Escape does.
    gd.on("plotly_deselect", () => {
      if (!tidying && byPerson() && Date.now() - clickedAt > 400) {
        answered = press;
        act({ op: "escape" });
      }
    });
    // A double click anywhere on the map lets go of the selection, the focus and the rings
    // (as Escape does), whatever the drag mode.
    // In pan or zoom mode plotly says a double click itself (the drag cover takes the
    // native one).
    gd.on("plotly_doubleclick", () => {
      answered = press; // a double click is never a selection, whatever plotly re-emits
      act({ op: "escape" });
    });
    gd.on("plotly_click", (event) => {
      const rows = rowsFromEvent(key, event);
      // A double click's second click is not a selection.
      if (rows.length && Date.now() - doubleAt > DOUBLE_MS) {
        clickedAt = Date.now();
        act({ op: "select", table: maps[key].table, rows: rows.slice(0, 1) });
      }
    });
    // A 3D point has no box on the screen in plotly's hover event: the card goes beside
    // the pointer instead.
    let pointer = null;
    let pointerTimer = null;
    gd.addEventListener("mousemove", (e) => {
      pointer = { x: e.clientX, y: e.clientY };
      if (maps[key] && maps[key].density && !pressed) {
        window.clearTimeout(pointerTimer);
        pointerTimer = window.setTimeout(() => densityPointer(key, gd, e), 60);
      }
    });
    gd.on("plotly_hover", (event) => {
      const rows = rowsFromEvent(key, event);
      const point = event && event.points && event.points[0];
      // plotly's `bbox` of a WebGL point is not in the window's coordinates (it was off by
      // the map's place on the page: the card stood 300 px left of the point): the point's
      // place is worked out from the axes instead.
      let bbox = point && maps[key].dims === 2 ? screenBox(gd, point.x, point.y) : null;
      if (!bbox && pointer && maps[key].dims === 3) {
        bbox = { x0: pointer.x - 6, x1: pointer.x + 6, y0: pointer.y - 6, y1: pointer.y + 6 };
      }
      if (rows.length && bbox) {
        showTooltip(key, rows[0], bbox);
      }
    });
    gd.on("plotly_unhover", hideTooltip);
    gd.addEventListener("mouseleave", () => {
      window.clearTimeout(pointerTimer);
      if (maps[key]) {
        maps[key].hoverSeq = (maps[key].hoverSeq || 0) + 1; // a late answer is not shown
        maps[key].hovered = null;
      }
      hideTooltip();
    });
    let timer = null;
    let densityTimer = null;
    let labelTimer = null;
    let sentCamera = "null";
    gd.on("plotly_relayout", (change) => {
      hideTooltip();
      change = change || {};
      if (change.dragmode) {
        maps[key].dragmode = change.dragmode;
      }
      if (Array.isArray(change.selections) && change.selections.length && !tidying) {
        // Plotly keeps the person's box or lasso as a shape: the selection is the view's,
        // drawn by dimming, so the shape goes (whatever the order the server answers in).
        window.setTimeout(() => {
          tidying = true;
          const done = () => { tidying = false; };
          // Its events come while it runs; a redraw racing it may leave its promise
          // pending, so the guard also ends by itself.
          window.setTimeout(done, 250);
          Promise.resolve(window.Plotly.relayout(gd, { selections: [] })).then(done, done);
        }, 0);
      }
      const moved = Object.keys(change).some((k) => k !== "dragmode" && k !== "selections" &&
        !k.startsWith("annotations"));
      if (moved && maps[key].labels) {
        window.clearTimeout(labelTimer);
        labelTimer = window.setTimeout(() => relabel(key), 60);
      }
      if (!moved) {
        return; // no zoom, pan or turn: nothing for the view
      }
      window.clearTimeout(timer);
      if (maps[key].density) {
        // A density map draws the region on screen: its image is asked for at once (the
        // view, and the link, follow after the usual pause).
        window.clearTimeout(densityTimer);
        densityTimer = window.setTimeout(() => {
          const layout = gd.layout || {};
          const camera = layout.xaxis && layout.yaxis && !layout.xaxis.autorange
            ? { x: layout.xaxis.range.slice(), y: layout.yaxis.range.slice() } : null;
          if (!densityCovers(maps[key], camera)) {
            // The plot's width: the image is drawn an image pixel a CSS pixel (device
            // pixels on a high-density screen would be 4 times the image, and its time).
            const size = gd._fullLayout && gd._fullLayout._size;
            window.dash_clientside.set_props(`scatter-${key}-camera`, {
              data: { key: maps[key].key, camera: camera, pixels: size ? Math.round(size.w) : null },
            });
          }
        }, DENSITY_SETTLE_MS);
      }
      timer = window.setTimeout(() => {
        const layout = gd.layout || {};
        let camera = null;
        if (maps[key].dims === 2 && layout.xaxis && layout.yaxis && !layout.xaxis.autorange) {
          camera = { x: layout.xaxis.range.slice(), y: layout.yaxis.range.slice() };
        } else if (maps[key].dims === 3) {
          camera = liveCamera(key);
        }
        const text = JSON.stringify(camera);
        if (text !== sentCamera) {
          sentCamera = text;
          act({ op: "camera", map: key, camera: camera });
        }
        // A density map's view follows later than its image: the view's round trip (and the
        // map's own callbacks it starts) would otherwise hold up the image's drawing.
      }, maps[key].density ? VIEW_AFTER_DENSITY_MS : 400);
    });
  }

  // -- the tooltip (assets/tooltip.js draws it) --------------------------------------------

  function rowUrl(key, row) {
    const state = maps[key];
    const query = new URLSearchParams({
      table: state.table, key: state.key, colour: state.colours.colour || "",
    });
    return `${state.coords.rowRoute}${row}?${query}`;
  }

  function showTooltip(key, row, bbox, kind) {
    window.dashboardTooltip.show(rowUrl(key, row), bbox, kind);
  }

  function hideTooltip() {
    if (window.dashboardTooltip) {
      window.dashboardTooltip.hide();
    }
  }

  // -- focus: ring it (in the figure), centre it when off-screen, show its tooltip ---------

  let lastFocus = "";

  function showFocus(key, focus) {
    const state = maps[key];
    const gd = graphDiv(key);
    const id = focus && focus.table === state.table ? `${focus.table}:${focus.row}` : "";
    if (!gd || id === lastFocus) {
      return;
    }
    lastFocus = id;
    if (!id || state.focusRow === null || state.dims !== 2 || !gd._fullLayout) {
      return;
    }
    const row = state.focusRow;
    const x = state.arrays.x[row];
    const y = state.arrays.y[row];
    const xr = gd._fullLayout.xaxis.range;
    const yr = gd._fullLayout.yaxis.range;
    const within = (v, r) => v >= Math.min(r[0], r[1]) && v <= Math.max(r[0], r[1]);
    const place = () => {
      const fl = gd._fullLayout;
      const box = gd.getBoundingClientRect();
      const px = box.left + fl._size.l + fl.xaxis.l2p(x);
      const py = box.top + fl._size.t + fl.yaxis.l2p(y);
      showTooltip(key, row, { x0: px - 4, x1: px + 4, y0: py - 4, y1: py + 4 }, "focus");
    };
    if (within(x, xr) && within(y, yr)) {
      place();
      return;
    }
    const half = (r) => (Math.max(r[0], r[1]) - Math.min(r[0], r[1])) / 2;
    window.Plotly.relayout(gd, {
      "xaxis.range": [x - half(xr), x + half(xr)],
      "yaxis.range": [y - half(yr), y + half(yr)],
    }).then(place);
  }

  // -- the page -----------------------------------------------------------------------------

  // Escape in a text box or a dropdown closes the list or empties the box: a person
  // pressing it there means that, not "let go of my lasso" (Dash 4's dropdown does not
  // stop the key, and keeps focus on its trigger once the list is closed). A slider,
  // switch or radio button has no use for Escape: there it lets go as anywhere else.
  const TYPED_IN =
    "textarea, select, [contenteditable], [role=listbox], [role=combobox], .dash-dropdown";
  const NOT_TYPED = new Set(["range", "checkbox", "radio", "button", "submit", "reset", "color"]);

  const ESCAPE_QUIET_MS = 800;
  let escapeQuietUntil = 0;

  function typedIn(target) {
    // An open dropdown list takes Escape even before it has taken the focus.
    if (document.querySelector(".dash-dropdown-content")) {
      return true;
    }
    if (!target || !target.closest) {
      return false;
    }
    const input = target.closest("input");
    if (input) {
      return !NOT_TYPED.has(String(input.type || "text").toLowerCase());
    }
    return Boolean(target.closest(TYPED_IN));
  }

  function start() {
    if (window.__dashboardStarted) {
      return window.dash_clientside.no_update;
    }
    window.__dashboardStarted = true;
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || event.defaultPrevented) {
        return;
      }
      if (typedIn(event.target)) {
        // A closed list hands the focus back to its trigger a moment later: a second,
        // quick press meant for the list lands on the page's body meanwhile.
        escapeQuietUntil = Date.now() + ESCAPE_QUIET_MS;
        return;
      }
      if (Date.now() >= escapeQuietUntil) {
        hideTooltip();
        act({ op: "escape" });
      }
    });
    document.addEventListener("click", (event) => {
      const target = event.target.closest && event.target.closest("[data-dashboard-row]");
      if (target) {
        act({
          op: "focus",
          table: target.getAttribute("data-dashboard-table"),
          row: Number(target.getAttribute("data-dashboard-row")),
        });
        return;
      }
      const item = event.target.closest && event.target.closest("[data-dashboard-category]");
      if (item && event.detail === 1) {
        act({
          op: "legend",
          map: item.getAttribute("data-dashboard-map"),
          category: item.getAttribute("data-dashboard-category"),
          how: "toggle",
        });
      }
      const toggle = event.target.closest && event.target.closest("#dashboard-sidebar-toggle");
      if (toggle) {
        // Wide windows show the sidebar unless hidden; narrow ones lay it over the map
        // only when asked.
        const narrow = window.matchMedia("(max-width: 991.98px)").matches;
        const name = narrow ? "dashboard-sidebar-open" : "dashboard-sidebar-hidden";
        const on = document.body.classList.toggle(name);
        toggle.setAttribute("aria-expanded", String(narrow ? on : !on));
        window.setTimeout(() => window.dispatchEvent(new Event("resize")), 50);
      }
    });
    document.addEventListener("dblclick", (event) => {
      const item = event.target.closest && event.target.closest("[data-dashboard-category]");
      if (item) {
        const legend = item.parentElement;
        const all = [...legend.querySelectorAll("[data-dashboard-category]")]
          .map((e) => e.getAttribute("data-dashboard-category"));
        act({
          op: "legend",
          map: item.getAttribute("data-dashboard-map"),
          category: item.getAttribute("data-dashboard-category"),
          how: "only",
          categories: all,
        });
      }
    });
    window.addEventListener("scroll", hideTooltip, { passive: true });
    const scheme = window.matchMedia("(prefers-color-scheme: dark)");
    const apply = () => {
      const theme = scheme.matches ? "dark" : "light";
      document.documentElement.setAttribute("data-bs-theme", theme);
      return theme;
    };
    scheme.addEventListener("change", () => {
      window.dash_clientside.set_props("dashboard-theme", { data: apply() });
    });
    return apply();
  }

  function writeLink(link) {
    if (link) {
      const url = new URL(window.location.href);
      url.searchParams.set("view", link);
      window.history.replaceState(window.history.state, "", url.toString());
    }
    return window.dash_clientside.no_update;
  }

  function take(answer, view, held) {
    // The view callback's answer, unless the page's view is already a later one (Dash
    // applies two calls' answers in the order they arrive). Derived stores are set only
    // when they changed, so a panel runs only when what it shows changed.
    const noUpdate = window.dash_clientside.no_update;
    const rev = view && view.book ? view.book.rev : -1;
    if (!answer || !(answer.rev >= rev)) {
      return [noUpdate, noUpdate].concat(held.map(() => noUpdate));
    }
    (answer.widgets || []).forEach((w) => {
      window.dash_clientside.set_props(w.id, { value: w.value });
    });
    const stores = Array.isArray(answer.stores) && answer.stores.length === held.length
      ? answer.stores : null;
    return [answer.view || noUpdate, answer.link || noUpdate].concat(held.map((value, i) =>
      stores && JSON.stringify(stores[i]) !== JSON.stringify(value) ? stores[i] : noUpdate));
  }

  // -- the gallery's thumbnails, drawn here rather than as Dash components ----------------
  // (hundreds of components took the browser seconds to render). Each figure carries the
  // data-dashboard-row attributes a click turns into a focus on the map. Returns the
  // container's title (none).
  function drawGallery(id, thumbs) {
    const grid = document.getElementById(id);
    if (!grid) {
      return window.dash_clientside.no_update;
    }
    const items = (thumbs && Array.isArray(thumbs.items)) ? thumbs.items : [];
    const size = thumbs && Number.isFinite(thumbs.size) ? thumbs.size : 64;
    const figures = items.map((item) => {
      const figure = document.createElement("figure");
      figure.className = "dashboard-gallery-item m-0 text-center";
      figure.style.width = `${size + 8}px`;
      figure.title = `${item.caption} (row ${item.row}): click to find it on the map`;
      figure.dataset.dashboardTable = item.table;
      figure.dataset.dashboardRow = String(item.row);
      if (item.src) {
        const image = document.createElement("img");
        image.src = item.src;
        image.alt = item.caption;
        image.style.width = `${size}px`;
        image.style.imageRendering = "pixelated";
        figure.appendChild(image);
      }
      const caption = document.createElement("figcaption");
      caption.className = "small text-truncate";
      caption.textContent = item.caption;
      figure.appendChild(caption);
      return figure;
    });
    grid.replaceChildren(...figures);
    grid.scrollTop = 0;
    return "";
  }

  window.dashboardClient = {
    mapFigure: mapFigure,
    chooseLabels: chooseLabels,
    densityHovered: densityHovered,
    start: start,
    writeLink: writeLink,
    take: take,
    // Whether a figure waits for the map to be quiet (see `held`).
    holding: () => Object.keys(held).length > 0,
    hideTooltip: hideTooltip,
    maps: maps,
    drawGallery: drawGallery,
    decode: decode,
    graphDiv: graphDiv,
  };
})();
