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
    return window.dashboardClient.graphDiv(key); // the page's script finds the maps
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
    if (!canvas) {
      canvas = document.createElement("canvas");
      canvas.className = "dashboard-image-layer";
      canvas.setAttribute("aria-hidden", "true");
      canvas.style.position = "absolute";
      canvas.style.left = "0";
      canvas.style.top = "0";
      canvas.style.pointerEvents = "none";
      layer.canvas = canvas;
    }
    // Just below plotly's top layer (cluster labels, the legend, hover labels), above the
    // points; moved, not made again, when plotly draws a new one (its WebGL context stays).
    const top = gd._fullLayout && gd._fullLayout._toppaper && gd._fullLayout._toppaper.node();
    const parent = top && top.parentNode ? top.parentNode : gd;
    const before = top && top.parentNode === parent ? top : null;
    if (canvas.parentNode !== parent || canvas.nextSibling !== before) {
      if (window.getComputedStyle(parent).position === "static") {
        parent.style.position = "relative"; // the canvas is placed over the map's own box
      }
      parent.insertBefore(canvas, before);
      layer.signature = "";
    }
    canvas.style.display = "";
    return canvas;
  }

  // Plotly's Viridis, the scale of a numeric colouring (figures.py): stops as [at, r, g, b].
  const VIRIDIS = [
    [0, 68, 1, 84], [0.0627, 72, 24, 106], [0.1255, 71, 45, 123], [0.1882, 66, 64, 134],
    [0.251, 59, 82, 139], [0.3137, 51, 99, 141], [0.3765, 44, 114, 142], [0.4392, 38, 130, 142],
    [0.502, 33, 145, 140], [0.5647, 31, 160, 136], [0.6275, 40, 174, 128],
    [0.6902, 63, 188, 115], [0.7529, 94, 201, 98], [0.8157, 132, 212, 75],
    [0.8784, 173, 220, 48], [0.9412, 216, 226, 25], [1, 253, 231, 37],
  ];

  function viridis(t) {
    const x = Math.min(1, Math.max(0, t));
    let i = 1;
    while (i < VIRIDIS.length - 1 && VIRIDIS[i][0] < x) { i++; }
    const [a0, ...lo] = VIRIDIS[i - 1];
    const [a1, ...hi] = VIRIDIS[i];
    const f = a1 > a0 ? (x - a0) / (a1 - a0) : 0;
    return lo.map((v, k) => (v + f * (hi[k] - v)) / 255);
  }

  // The colour of each point's frame as [r, g, b] in 0..1: its category's, its value's on
  // the colour scale, the map's one colour, or null (no colour: no frame).
  function frameColours(state) {
    const colours = state.colours || {};
    const marker = colours.marker || {};
    const codes = state.arrays.codes;
    if (codes && Array.isArray(marker.colorscale)) {
      const steps = marker.colorscale;
      const byCode = [];
      for (let i = 0; 2 * i < steps.length; i++) { byCode.push(rgb(steps[2 * i][1])); }
      return (row) => byCode[codes[row]] || GREY;
    }
    if (Array.isArray(marker.color)) {
      return (row) => (marker.color[row] ? rgb(marker.color[row]) : null); // logged colours
    }
    if (typeof marker.color === "string") {
      const one = rgb(marker.color);
      return () => one;
    }
    if (marker.color && marker.colorscale === "Viridis") {
      if (state.valuesRevision !== colours.revision) {
        state.valuesRevision = colours.revision;
        state.values = window.dashboardClient.decode(marker.color);
      }
      const values = state.values;
      const low = Number(marker.cmin);
      const span = Number(marker.cmax) - low || 1;
      return (row) => (Number.isFinite(values[row]) ? viridis((values[row] - low) / span) : null);
    }
    return () => null;
  }

  const GREY = [0.53, 0.53, 0.53];

  function positions2d(gd, state) {
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
    return { signature: signature, place: place, zoom: zoom, clip: clip };
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
      depth: 2.2 };
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

  // -- WebGL: one draw call for every image (10,000 drawImage calls took 120-220 ms a frame
  // in software rendering; one call of point sprites a few) -------------------------------

  const VERTEX = `
    attribute vec2 at;        // CSS pixels from the canvas's top left
    attribute float size;     // CSS pixels, frame included
    attribute vec2 tile;      // the tile's top left in the atlas, 0..1
    attribute vec4 colour;    // frame colour (alpha 0: none) ...
    attribute float alpha;    // ... and the image's opacity
    uniform vec2 canvas;      // CSS pixels
    uniform float ratio;      // device pixels a CSS pixel
    varying vec2 vTile;
    varying vec4 vColour;
    varying float vAlpha;
    varying float vFrame;     // the frame's share of the point's side
    uniform float frame;
    void main() {
      gl_Position = vec4(at.x / canvas.x * 2.0 - 1.0, 1.0 - at.y / canvas.y * 2.0, 0.0, 1.0);
      gl_PointSize = size * ratio;
      vTile = tile;
      vColour = colour;
      vAlpha = alpha;
      vFrame = colour.a > 0.0 ? frame / size : 0.0;
    }`;
  const FRAGMENT = `
    precision mediump float;
    uniform sampler2D atlas;
    uniform vec2 tileSize;    // a tile's size in the atlas, 0..1
    varying vec2 vTile;
    varying vec4 vColour;
    varying float vAlpha;
    varying float vFrame;
    void main() {
      vec2 p = gl_PointCoord;
      vec2 inner = (p - vFrame) / (1.0 - 2.0 * vFrame);
      vec4 image = vec4(0.0);
      if (inner.x >= 0.0 && inner.x <= 1.0 && inner.y >= 0.0 && inner.y <= 1.0) {
        image = texture2D(atlas, vTile + inner * tileSize);
      }
      // The image over its frame colour: a transparent pixel shows the point's colour.
      vec4 under = vColour;
      vec3 rgb = mix(under.rgb, image.rgb, image.a);
      float a = max(image.a, under.a);
      if (a <= 0.0) {
        discard;
      }
      gl_FragColor = vec4(rgb, a * vAlpha);
    }`;

  function program(gl) {
    const build = (type, text) => {
      const shader = gl.createShader(type);
      gl.shaderSource(shader, text);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        throw new Error(`image layer shader: ${gl.getShaderInfoLog(shader)}`);
      }
      return shader;
    };
    const prog = gl.createProgram();
    gl.attachShader(prog, build(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(prog, build(gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) {
      throw new Error(`image layer program: ${gl.getProgramInfoLog(prog)}`);
    }
    return prog;
  }

  // The GL state of a layer's canvas: made once per canvas, the atlas uploaded once per atlas.
  function glFor(layer, canvas) {
    if (layer.gl && layer.gl.canvas === canvas) {
      return layer.gl;
    }
    // The drawing is kept between frames: it is redrawn only when something moved.
    const gl = canvas.getContext("webgl", { premultipliedAlpha: false,
      preserveDrawingBuffer: true, antialias: false });
    if (!gl) {
      return null;
    }
    const prog = program(gl);
    const state = { canvas: canvas, gl: gl, prog: prog, buffer: gl.createBuffer(),
      texture: gl.createTexture(), atlas: null,
      maxPoint: gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE)[1] };
    layer.gl = state;
    return state;
  }

  // CSS colours as [r, g, b] in 0..1, resolved by the browser once each.
  const rgbCache = {};
  const probe = document.createElement("canvas").getContext("2d");
  function rgb(colour) {
    if (!(colour in rgbCache)) {
      probe.fillStyle = "#000";
      probe.fillStyle = colour;
      const hex = probe.fillStyle; // "#rrggbb", or "rgba(...)" for a colour with alpha
      const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
      const parts = m ? m.slice(1).map((h) => parseInt(h, 16))
        : (hex.match(/[\d.]+/g) || [0, 0, 0]).slice(0, 3).map(Number);
      rgbCache[colour] = parts.map((v) => v / 255);
    }
    return rgbCache[colour];
  }

  // Floats a point: at (2), size, tile (2), colour (4), alpha.
  const STRIDE = 10;

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
    const view = is3d ? positions3d(gd, state, rect) : positions2d(gd, state);
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
    const g = glFor(layer, canvas);
    if (!g) {
      notice(layer.key, "Images on the map need WebGL, which this browser does not offer.");
      return;
    }
    const gl = g.gl;
    if (g.atlas !== layer.atlas) {
      g.atlas = layer.atlas;
      gl.bindTexture(gl.TEXTURE_2D, g.texture);
      gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, layer.atlas);
      // Nearest: an 8 x 8 digit stays sharp; the atlas is not a power of two: no mipmaps.
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    }

    const spec = layer.spec;
    const n = Math.min(state.n, spec.rows);
    const visible = state.visible;
    const [cx, cy, cw, ch] = view.clip;
    const points = [];
    for (let row = 0; row < n; row++) {
      if (!visible[row]) {
        continue;
      }
      const at = view.place(row);
      // Points far outside the plot are not drawn (a zoomed-in map draws few).
      if (at && at[0] > cx - 200 && at[0] < cx + cw + 200 && at[1] > cy - 200 &&
          at[1] < cy + ch + 200) {
        points.push([row, at[0], at[1], at[2]]);
      }
    }
    if (is3d) {
      points.sort((p, q) => q[3] - p[3]); // far ones first: near images cover them
    }
    // One image per this many pixels of the plot: crowded maps get smaller images.
    const base = Math.max(10, Math.min(48, 0.9 * Math.sqrt(cw * ch / Math.max(points.length, 1))));
    const colourOf = frameColours(state);
    const selected = state.isSelected;
    const columns = spec.columns;
    const tileU = spec.tile / layer.atlas.width;
    const tileV = spec.tile / layer.atlas.height;
    const largest = g.maxPoint / ratio;
    // The Opacity slider: its usual 0.85 draws images whole, lower fades them.
    const opacity = Math.min(1, (typeof state.opacity === "number" ? state.opacity : 0.85) / 0.85);
    const sizes = state.size && typeof state.size !== "number" && state.coords ? state.size : null;
    const pointSize = state.coords ? state.coords.pointSize || 1 : 1;
    const data = new Float32Array(points.length * STRIDE);
    let size = 0;
    for (let i = 0; i < points.length; i++) {
      const [row, x, y, w] = points[i];
      const c = colourOf(row);
      const scaled = sizes ? sizes[row] / pointSize : 1; // "Size by", as the dots
      size = Math.min(160, base * view.zoom * scaled * (is3d ? view.depth / w : 1));
      const o = i * STRIDE;
      data[o] = x;
      data[o + 1] = y;
      data[o + 2] = Math.min(largest, size + (c ? 2 * FRAME : 0));
      data[o + 3] = (row % columns) * tileU;
      data[o + 4] = Math.floor(row / columns) * tileV;
      if (c) {
        data[o + 5] = c[0];
        data[o + 6] = c[1];
        data[o + 7] = c[2];
        data[o + 8] = 1;
      }
      data[o + 9] = opacity * (selected && !selected[row] ? DIM : 1);
    }

    gl.viewport(0, 0, canvas.width, canvas.height);
    gl.disable(gl.SCISSOR_TEST);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.SCISSOR_TEST);
    gl.scissor(Math.round(cx * ratio), Math.round(canvas.height - (cy + ch) * ratio),
      Math.round(cw * ratio), Math.round(ch * ratio));
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    gl.useProgram(g.prog);
    gl.bindBuffer(gl.ARRAY_BUFFER, g.buffer);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.DYNAMIC_DRAW);
    const bytes = STRIDE * 4;
    [["at", 2, 0], ["size", 1, 2], ["tile", 2, 3], ["colour", 4, 5], ["alpha", 1, 9]].forEach(
      ([name, count, offset]) => {
        const where = gl.getAttribLocation(g.prog, name);
        gl.enableVertexAttribArray(where);
        gl.vertexAttribPointer(where, count, gl.FLOAT, false, bytes, offset * 4);
      });
    gl.uniform2f(gl.getUniformLocation(g.prog, "canvas"), rect.width, rect.height);
    gl.uniform1f(gl.getUniformLocation(g.prog, "ratio"), ratio);
    gl.uniform1f(gl.getUniformLocation(g.prog, "frame"), FRAME);
    gl.uniform2f(gl.getUniformLocation(g.prog, "tileSize"), tileU, tileV);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, g.texture);
    gl.uniform1i(gl.getUniformLocation(g.prog, "atlas"), 0);
    gl.drawArrays(gl.POINTS, 0, points.length);

    layer.drawn = points.length;
    layer.size = size;
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
