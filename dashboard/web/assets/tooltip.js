/* The row card: what a hovered, or focused, point shows beside it (its caption, colour
 * value, text and image), fetched once per row and colouring from the row route and kept.
 *
 * `window.dashboardTooltip.show(url, bbox, kind)` shows the card of the row `url` describes
 * beside `bbox` (page pixels: x0, x1, y0, y1); a later show or `hide()` wins over a card
 * still being fetched. A "focus" card (a click in a list) hides itself after a while.
 */
(function () {
  "use strict";

  const rowInfo = new Map(); // the row route's JSON, by URL

  function tooltipElement() {
    let tip = document.getElementById("dashboard-tooltip");
    if (!tip) {
      tip = document.createElement("div");
      tip.id = "dashboard-tooltip";
      tip.className = "dashboard-tooltip card shadow-sm";
      tip.setAttribute("role", "tooltip");
      tip.style.display = "none";
      document.body.appendChild(tip);
    }
    return tip;
  }

  let tipToken = 0;

  function hideTooltip() {
    tipToken += 1;
    tooltipElement().style.display = "none";
  }

  function placeTooltip(tip, bbox) {
    const margin = 8;
    const width = tip.offsetWidth;
    const height = tip.offsetHeight;
    let left = bbox.x1 + margin;
    if (left + width > window.innerWidth - margin) {
      left = bbox.x0 - width - margin; // no room on the right: the left side
    }
    left = Math.max(margin, left);
    let top = (bbox.y0 + bbox.y1) / 2 - height / 2;
    top = Math.min(Math.max(margin, top), window.innerHeight - height - margin);
    tip.style.left = `${left + window.scrollX}px`;
    tip.style.top = `${top + window.scrollY}px`;
  }

  function fill(tip, info) {
    tip.replaceChildren();
    const body = document.createElement("div");
    body.className = "card-body p-2 small";
    if (info.image) {
      const img = document.createElement("img");
      img.src = info.image;
      img.alt = info.caption;
      img.className = "dashboard-hover-image d-block mx-auto mb-1";
      body.appendChild(img);
    }
    const caption = document.createElement("strong");
    caption.textContent = info.caption;
    body.appendChild(caption);
    (info.lines || []).forEach((line) => {
      const div = document.createElement("div");
      div.textContent = line;
      body.appendChild(div);
    });
    if (info.text) {
      const text = document.createElement("div");
      text.className = "text-body-secondary dashboard-tooltip-text";
      text.textContent = info.text;
      body.appendChild(text);
    }
    tip.appendChild(body);
  }

  // A focused row's card (a click in a list) shows this long; its ring stays.
  const FOCUS_CARD_MS = 3000;

  function show(url, bbox, kind) {
    const token = ++tipToken;
    const draw = (info) => {
      if (token !== tipToken || !info) {
        return;
      }
      const tip = tooltipElement();
      fill(tip, info);
      tip.dataset.kind = kind || "hover";
      tip.style.display = "block";
      placeTooltip(tip, bbox);
      if (kind === "focus") {
        window.setTimeout(() => {
          if (token === tipToken) {
            hideTooltip();
          }
        }, FOCUS_CARD_MS);
      }
      const image = tip.querySelector("img");
      if (image && !image.complete) {
        // Its height was not known yet: place the card again once it is.
        image.addEventListener("load", () => {
          if (token === tipToken) {
            placeTooltip(tip, bbox);
          }
        }, { once: true });
      }
    };
    if (rowInfo.has(url)) {
      draw(rowInfo.get(url));
      return;
    }
    fetch(url).then((r) => (r.ok ? r.json() : null)).then((info) => {
      if (info) {
        if (rowInfo.size > 2000) {
          rowInfo.clear();
        }
        rowInfo.set(url, info);
      }
      draw(info);
    }).catch(() => {});
  }

  window.dashboardTooltip = { show: show, hide: hideTooltip };
})();
