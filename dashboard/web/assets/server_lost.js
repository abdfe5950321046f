/*
 * When the server stops answering (stopped, restarted, a notebook's kernel restarted), Dash
 * only logs "Callback failed" in the console and the page keeps showing its last state, as if
 * a click had been taken. This says so on the page, and takes the notice away once the server
 * answers again.
 */
(function () {
  "use strict";

  const ID = "dashboard-server-lost";
  const CALLBACKS = "_dash-update-component";
  const original = window.fetch;
  if (!original || window.__dashboardServerWatch) {
    return;
  }
  window.__dashboardServerWatch = true;

  function notice(shown) {
    let box = document.getElementById(ID);
    if (!shown) {
      if (box) {
        box.remove();
      }
      return;
    }
    if (box || !document.body) {
      return;
    }
    box = document.createElement("div");
    box.id = ID;
    box.setAttribute("role", "alert");
    box.className = "alert alert-warning shadow";
    box.style.cssText =
      "position: fixed; top: 0.5rem; left: 50%; transform: translateX(-50%); " +
      "z-index: 3000; max-width: 90vw; margin: 0;";
    box.textContent =
      "The server is not answering: it stopped or restarted. What you change now is not " +
      "applied. Reload the page once the server is back.";
    document.body.appendChild(box);
  }

  window.fetch = function (resource, init) {
    const url = typeof resource === "string" ? resource : (resource && resource.url) || "";
    const call = original.call(this, resource, init);
    if (!String(url).includes(CALLBACKS)) {
      return call;
    }
    return call.then(
      (response) => {
        notice(false);
        return response;
      },
      (error) => {
        // A network failure (no answer at all), not an error the server sent back.
        notice(true);
        throw error;
      },
    );
  };
})();
