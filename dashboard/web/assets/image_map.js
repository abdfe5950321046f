/* Points drawn as their images: Comet's and TensorBoard's headline view.
 *
 * A canvas over the map (it takes no pointer events: plotly's own points below it keep
 * hover, box and lasso select, zoom, pan and orbit) draws each shown row's thumbnail where
 * plotly draws the row's point, framed in the point's colour. The thumbnails come in one
 * atlas image per table (`/_dashboard/atlas`): row i's tile is at column i % columns, row
 * floor(i / columns). Positions follow plotly's own: in 2D its axis ranges, in 3D its
 * camera's model, view and projection matrices. A frame loop redraws only when they (or
 * the map) changed, so a turn or a zoom redraws at the browser's frame rate and a still map
 * costs nothing.
 *
 * The page's script calls `window.dashboardImageMap.update(panel, state, spec, on)` after
 * every map build: `state` is the map's decoded state (coordinates, shown rows, colours,
 * selection), `spec` the server's `{url, tile, columns, rows}` or `{notice}`.
 */
(function () {
  "use strict";

  // The image layer of each map, by panel index.
  const layers = {};
  // Points' frame width in CSS pixels.
  const FRAME = 2;
  // Opacity of rows left out of a selection (as the dots' dimming).
  const DIM = 0.2;

  function graphDiv(key) {
    return document.querySelector(`#scatter-${key}-graph .js-plotly-plot`);
  }

  function notice(key, text) {
    const el = document.getElementById(`scatter-${key}-images-notice`);
    if (el && el.textContent !== (text || "")) {
      el.textContent = text || "";
      el.className = text ? "small text-warning-emphasis" : "";
    }
  }

  function update(key, state, spec, on) {
    const layer = layers[key];
    const usable = on && state && spec && !spec.notice && spec.url;
    notice(key, on && spec && spec.notice ? spec.notice : "");
    if (!usable) {
      if (layer) {
        layer.on = false;
        if (layer.canvas) { layer.canvas.style.display = "none"; }
      }
      return;
    }
    const current = layer || (layers[key] = { key: key, on: false, signature: "" });
    current.state = state;
    current.spec = spec;
    current.signature = ""; // the map was rebuilt: draw again
    if (current.url !== spec.url) {
      current.url = spec.url;
      current.ready = false;
      const atlas = new Image();
      atlas.onload = () => {
        if (current.url === spec.url) {
          current.atlas = atlas;
          current.ready = true;
          current.signature = "";
        }
      };
      atlas.onerror = () => notice(key, "Images on the map: the images could not be loaded.");
      atlas.src = spec.url;
    }
    if (!current.on) {
      current.on = true;
      window.requestAnimationFrame(() => frame(current));
    }
  }

  function frame(layer) {
    if (!layer.on) {
      return;
    }
    try {
      draw(layer);
    } catch (err) {
      // A map being replaced has no axes for a moment: try again next frame.
      layer.signature = "";
    }
    window.requestAnimationFrame(() => frame(layer));
  }

  function canvasFor(layer, gd) {
    let canvas = layer.canvas;
    if (!canvas || !canvas.isConnected || canvas.parentNode !== gd) {
      canvas = document.createElement("canvas");
      canvas.className = "dashboard-image-layer";
      canvas.setAttribute("aria-hidden", "true");
      canvas.style.position = "absolute";
      canvas.style.left = "0";
      canvas.style.top = "0";
      canvas.style.pointerEvents = "none";
      canvas.style.zIndex = "2";
      if (window.getComputedStyle(gd).position === "static") {
        gd.style.position = "relative"; // the canvas is placed over the map's own box
      }
      gd.appendChild(canvas);
      layer.canvas = canvas;
      layer.signature = "";
    }
    canvas.style.display = "";
    return canvas;
  }

  // The colour of each point's frame: its category's, the map's one colour, or none (a
  // numeric colouring: its scale is the dots', not drawn as frames).
  function frameColours(state) {
    const marker = (state.colours && state.colours.marker) || {};
    const codes = state.arrays.codes;
    if (codes && Array.isArray(marker.colorscale)) {
      const steps = marker.colorscale;
      const byCode = [];
      for (let i = 0; 2 * i < steps.length; i++) { byCode.push(steps[2 * i][1]); }
      return (row) => byCode[codes[row]] || "#888";
    }
    if (typeof marker.color === "string") {
      return () => marker.color;
    }
    return () => null;
  }

  function positions2d(gd, state, rect) {
    const full = gd._fullLayout;
    const xa = full.xaxis;
    const ya = full.yaxis;
    const [x0, x1] = xa.range.map(Number);
    const [y0, y1] = ya.range.map(Number);
    const signature = [x0, x1, y0, y1, xa._length, ya._length, xa._offset, ya._offset].join();
    const a = state.arrays;
    const place = (row) => [
      xa._offset + ((a.x[row] - x0) / (x1 - x0)) * xa._length,
      ya._offset + (1 - (a.y[row] - y0) / (y1 - y0)) * ya._length,
      1,
    ];
    // Images grow as the person zooms in past the points' extent (up to 4x), so a cluster
    // opens into its images.
    const span = state.span2d || (state.span2d = [extent(a.x, state.visible),
      extent(a.y, state.visible)]);
    const inside = Math.max(span[0] / Math.abs(x1 - x0), span[1] / Math.abs(y1 - y0));
    const zoom = inside > 0 ? Math.min(4, Math.max(1, Math.sqrt(inside))) : 1;
    const clip = [xa._offset, ya._offset, xa._length, ya._length];
    return { signature: signature, place: place, zoom: zoom, clip: clip, rect: rect };
  }

  function extent(values, visible) {
    let low = Infinity;
    let high = -Infinity;
    for (let i = 0; i < values.length; i++) {
      if (visible[i]) {
        low = Math.min(low, values[i]);
        high = Math.max(high, values[i]);
      }
    }
    return high > low ? high - low : 0;
  }

  function positions3d(gd, state, rect) {
    const scene = gd._fullLayout.scene._scene;
    const plot = scene.glplot;
    const camera = plot.cameraParams;
    const box = plot.canvas.getBoundingClientRect();
    const mvp = multiply(camera.projection, multiply(camera.view, camera.model));
    const scale = scene.dataScale;
    const left = box.left - rect.left;
    const top = box.top - rect.top;
    const width = box.width;
    const height = box.height;
    const signature = Array.from(mvp).map((v) => v.toFixed(5)).join() +
      `|${left},${top},${width},${height}`;
    const a = state.arrays;
    const place = (row) => {
      const x = a.x[row] * scale[0];
      const y = a.y[row] * scale[1];
      const z = a.z[row] * scale[2];
      const w = mvp[3] * x + mvp[7] * y + mvp[11] * z + mvp[15];
      if (!(w > 1e-6)) {
        return null;
      }
      const cx = (mvp[0] * x + mvp[4] * y + mvp[8] * z + mvp[12]) / w;
      const cy = (mvp[1] * x + mvp[5] * y + mvp[9] * z + mvp[13]) / w;
      return [left + ((cx + 1) / 2) * width, top + ((1 - cy) / 2) * height, w];
    };
    // The default camera stands about 2.2 scene units away: nearer images draw bigger.
    return { signature: signature, place: place, zoom: 1, clip: [left, top, width, height],
      depth: 2.2, rect: rect };
  }

  // 4 x 4 column-major matrix product a * b (gl-matrix's layout, as plotly keeps them).
  function multiply(a, b) {
    const out = new Float64Array(16);
    for (let col = 0; col < 4; col++) {
      for (let row = 0; row < 4; row++) {
        let sum = 0;
        for (let k = 0; k < 4; k++) { sum += a[k * 4 + row] * b[col * 4 + k]; }
        out[col * 4 + row] = sum;
      }
    }
    return out;
  }

  function draw(layer) {
    const gd = graphDiv(layer.key);
    const state = layer.state;
    if (!gd || !gd._fullLayout || !state || !layer.ready) {
      return;
    }
    const is3d = state.dims === 3;
    if (is3d ? !gd._fullLayout.scene || !gd._fullLayout.scene._scene : !gd._fullLayout.xaxis) {
      return;
    }
    const rect = gd.getBoundingClientRect();
    const view = is3d ? positions3d(gd, state, rect) : positions2d(gd, state, rect);
    const ratio = window.devicePixelRatio || 1;
    const signature = `${view.signature}|${rect.width}x${rect.height}|${state.builds}|${ratio}`;
    if (signature === layer.signature) {
      return; // nothing moved
    }
    layer.signature = signature;
    const started = performance.now();
    const canvas = canvasFor(layer, gd);
    if (canvas.width !== Math.round(rect.width * ratio) ||
        canvas.height !== Math.round(rect.height * ratio)) {
      canvas.width = Math.round(rect.width * ratio);
      canvas.height = Math.round(rect.height * ratio);
      canvas.style.width = `${rect.width}px`;
      canvas.style.height = `${rect.height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, rect.width, rect.height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(view.clip[0], view.clip[1], view.clip[2], view.clip[3]);
    ctx.clip();
    ctx.imageSmoothingEnabled = false; // small images (digits) stay sharp

    const spec = layer.spec;
    const n = Math.min(state.n, spec.rows);
    const visible = state.visible;
    const points = [];
    for (let row = 0; row < n; row++) {
      if (!visible[row]) {
        continue;
      }
      const at = view.place(row);
      if (at && Number.isFinite(at[0]) && Number.isFinite(at[1])) {
        points.push([row, at[0], at[1], at[2]]);
      }
    }
    if (is3d) {
      points.sort((p, q) => q[3] - p[3]); // far ones first: near images cover them
    }
    // One image per this many pixels of the plot: crowded maps get smaller images.
    const area = view.clip[2] * view.clip[3];
    const base = Math.max(10, Math.min(48, 0.9 * Math.sqrt(area / Math.max(points.length, 1))));
    const colourOf = frameColours(state);
    const selected = state.isSelected;
    const tile = spec.tile;
    const columns = spec.columns;
    for (let i = 0; i < points.length; i++) {
      const [row, x, y, w] = points[i];
      const size = Math.min(160, base * view.zoom * (is3d ? view.depth / w : 1));
      const half = size / 2;
      ctx.globalAlpha = selected && !selected[row] ? DIM : 1;
      const colour = colourOf(row);
      if (colour) {
        ctx.fillStyle = colour;
        ctx.fillRect(x - half - FRAME, y - half - FRAME, size + 2 * FRAME, size + 2 * FRAME);
      }
      ctx.drawImage(layer.atlas, (row % columns) * tile, Math.floor(row / columns) * tile,
        tile, tile, x - half, y - half, size, size);
    }
    ctx.restore();
    layer.drawn = points.length;
    layer.size = points.length ? Math.min(160, base * view.zoom *
      (is3d ? view.depth / points[points.length - 1][3] : 1)) : 0;
    const top = points[points.length - 1];
    // The image drawn last (on top of every other), in page coordinates.
    layer.top = top ? { row: top[0], x: rect.left + top[1], y: rect.top + top[2] } : null;
    layer.drawMs = performance.now() - started;
  }

  window.dashboardImageMap = {
    update: update,
    // For tests and benchmarks: how many images the layer of `key` drew last, the one on
    // top of the others ({row, x, y} in page coordinates), and how long the last draw took.
    drawn: (key) => (layers[key] && layers[key].on ? layers[key].drawn || 0 : 0),
    top: (key) => (layers[key] && layers[key].on ? layers[key].top : null),
    drawMs: (key) => (layers[key] ? layers[key].drawMs : null),
    layers: layers,
  };
})();
