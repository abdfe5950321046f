/* The page's side of its projection job (see dashboard/web/projecting.py): which finished
 * map the page shows, when it polls the job, what Cancel cancelled, and the notice over a map
 * that is not yet the one asked for. Loaded after dashboard.js (assets load by name). */
(function () {
  "use strict";

  // Whether ``projection`` is the map ``request`` asks for.
  function isRequested(projection, request) {
    const rows = Array.isArray(request.rows) ? request.rows.length : null;
    const isolated = Number.isInteger(projection.isolated) ? projection.isolated : null;
    return projection.table === request.table && projection.reducer === request.reducer &&
      projection.dims === request.dims && rows === isolated &&
      JSON.stringify(projection.params) === JSON.stringify(request.params);
  }

  // The finished maps this page was sent, each with the request it answers, newest last
  // (their summaries: a few hundred bytes each; the coordinates stay on the server).
  const answers = [];

  function acceptProjection(answer, request, shown) {
    // The map shown is the newest finished map sent for the request the page makes now.
    // Kept answers matter: an answer may arrive while the view briefly asks for another map
    // (two view updates crossing) and is then wanted again, with no second answer coming.
    if (answer) {
      const asked = JSON.stringify(answer.request);
      const known = answers.findIndex((a) => a.asked === asked && a.map.key === answer.key);
      if (known >= 0) {
        answers.splice(known, 1); // sent again: the newest
      }
      const map = Object.assign({}, answer);
      delete map.request;
      answers.push({ asked: asked, map: map });
      if (answers.length > 16) {
        answers.shift();
      }
    }
    let wanted = null;
    if (!request) {
      wanted = answer ? answers[answers.length - 1].map : null; // no valid request yet
    } else {
      const asked = JSON.stringify(request);
      for (let i = answers.length - 1; i >= 0 && !wanted; i--) {
        wanted = answers[i].asked === asked ? answers[i].map : null;
      }
    }
    // A map shown already is not sent again (it would be redrawn under the pointer).
    if (!wanted || (shown && shown.key === wanted.key && shown.n === wanted.n)) {
      return window.dash_clientside.no_update;
    }
    return wanted;
  }

  // -- following a projection job (see dashboard/web/projecting.py) --------------------
  // One poll is due at a time, and only after an answer landed: a poll sent while the last
  // call still runs would overtake it (Dash keeps only the newest call's answer).
  const polling = { due: null, watch: null, stale: 0 };

  function stopPolling() {
    clearTimeout(polling.due);
    clearTimeout(polling.watch);
    polling.due = polling.watch = null;
  }

  function schedulePoll(job, request, ms, retryMs, pollId) {
    stopPolling();
    // Dash may apply two answers in the order they arrive: one made for an older request
    // (a finished map, polling off) would leave the page following nothing. Ask again.
    const stale = job && request && JSON.stringify(job.request) !== JSON.stringify(request);
    polling.stale = stale ? polling.stale + 1 : 0;
    if (stale && polling.stale <= 5) {
      ms = 20; // (after 5 in a row, at the usual pace: never a tight loop)
    }
    if (job && (job.poll || stale)) {
      const poll = () => {
        window.dash_clientside.set_props(pollId, { data: Date.now() });
        // An answer that never lands (a lost request) must not end the polling.
        polling.watch = setTimeout(poll, retryMs);
      };
      polling.due = setTimeout(poll, ms);
    }
    return window.dash_clientside.no_update;
  }

  function cancelIntent(request, cancelled) {
    // Cancel keeps what it cancelled, so every later call sees it; Try again and a new
    // request forget it.
    stopPolling();
    const trigger = window.dash_clientside.callback_context.triggered_id;
    if (trigger === "dashboard-projection-cancel") {
      return { request: request, at: Date.now() };
    }
    return cancelled ? null : window.dash_clientside.no_update;
  }

  function staleNotice(projection, request, titles) {
    // While a new map computes (and after it failed: the status says why), the one shown
    // says what it is and what was asked for, in the names the controls use.
    if (!projection || !request || isRequested(projection, request)) {
      return "";
    }
    const title = (name) => (titles && titles[name]) || name;
    const rows = Array.isArray(request.rows) ? request.rows.length : null;
    const isolated = Number.isInteger(projection.isolated) ? projection.isolated : null;
    const onlySettings = projection.table === request.table && rows === isolated &&
      projection.reducer === request.reducer && projection.dims === request.dims;
    const shown = `${title(projection.reducer)} ${projection.dims}D of ${projection.table}`;
    const asked = onlySettings ? "the map with the new settings" :
      `the ${title(request.reducer)} ${request.dims}D map of ${request.table}` +
      (rows === null ? "" : ` (${rows} rows)`);
    return `The map below is the previous one (${shown}), not yet ${asked} asked for.`;
  }

  window.dashboardProjection = {
    acceptProjection: acceptProjection,
    schedulePoll: schedulePoll,
    cancelIntent: cancelIntent,
    staleNotice: staleNotice,
  };
})();
