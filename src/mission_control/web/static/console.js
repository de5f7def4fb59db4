/* Mission Control console: progressive enhancement, no build step, no dependencies.
 *
 * 1. Live regions: a page whose <body> has data-live-stream listens to that SSE URL; on
 *    events it refetches itself and swaps every element marked data-live-region (by id).
 *    On a board (data-cards), a task event refetches only that task's card and moves it to
 *    its column; the whole page follows once events are quiet.
 * 2. Enhanced forms: a POST form (unless data-plain) is sent with fetch; the page the server
 *    answers with (the redirect target, or the same page with the error next to the control)
 *    replaces <main>, focus goes to the first error or back to the control that was used.
 * 3. Drag and drop: a card (data-task-id) dropped on a column (data-drop-status) submits the
 *    card's move form with that status. Buttons do the same for keyboard and touch.
 * Without JavaScript every form still posts normally and every page still renders.
 */
(function () {
  "use strict";

  var parser = new DOMParser();
  var refreshing = false;
  var refreshAgain = false;
  var refreshTimer = null;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function focusedId() {
    var el = document.activeElement;
    return el && el.id ? el.id : null;
  }

  function refocus(id) {
    if (!id) return;
    var el = document.getElementById(id);
    if (el && typeof el.focus === "function") el.focus({ preventScroll: true });
  }

  function busyTyping(region) {
    var el = document.activeElement;
    if (!el || !region.contains(el)) return false;
    var tag = el.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && el.type !== "hidden" && el.type !== "submit");
  }

  function swapRegions(doc) {
    var keep = focusedId();
    var regions = document.querySelectorAll("[data-live-region]");
    for (var i = 0; i < regions.length; i++) {
      var region = regions[i];
      var fresh = doc.getElementById(region.id);
      if (!fresh || busyTyping(region)) continue;
      if (region.innerHTML !== fresh.innerHTML) region.innerHTML = fresh.innerHTML;
    }
    refocus(keep);
    wireDragAndDrop();
    document.dispatchEvent(new CustomEvent("console:refreshed"));
  }

  var liveSeq = 0;          // events seen so far
  var reconcileTimer = null;

  function refresh(afterCards) {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    var seq = liveSeq;
    fetch(window.location.href, { headers: { "X-Console-Refresh": "1" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        // A page rendered before a newer single-card update must not undo it: try again.
        if (afterCards && seq !== liveSeq) { scheduleReconcile(); return; }
        swapRegions(parser.parseFromString(html, "text/html"));
      })
      .catch(function () { /* the next event retries */ })
      .then(function () {
        refreshing = false;
        if (refreshAgain) { refreshAgain = false; refresh(afterCards); }
      });
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; refresh(false); }, 60);
  }

  // After single-card updates, the whole page is fetched once things are quiet, for what a
  // card cannot say alone (dependents unblocked, counts elsewhere, order).
  function scheduleReconcile() {
    if (reconcileTimer) clearTimeout(reconcileTimer);
    reconcileTimer = setTimeout(function () { reconcileTimer = null; refresh(true); }, 1500);
  }

  var cardQueues = {};

  function countCards() {
    var columns = document.querySelectorAll("[data-drop-status]");
    for (var i = 0; i < columns.length; i++) {
      var count = columns[i].querySelector("[data-count]");
      if (count) count.textContent = String(columns[i].querySelectorAll("li.card").length);
    }
  }

  function placeCard(fresh) {
    var id = fresh.id;
    var keep = focusedId();
    var old = document.getElementById(id);
    var column = document.querySelector('[data-drop-status="' + fresh.getAttribute("data-status") + '"] ul.cards');
    if (!column) return;
    if (old) old.parentNode.removeChild(old);
    var created = fresh.getAttribute("data-created") || "";
    var siblings = column.querySelectorAll("li.card");
    var before = null;
    for (var i = 0; i < siblings.length; i++) {
      if ((siblings[i].getAttribute("data-created") || "") < created) { before = siblings[i]; break; }
    }
    column.insertBefore(fresh, before);
    countCards();
    refocus(keep);
    wireDragAndDrop();
  }

  function updateCard(base, taskId) {
    var previous = cardQueues[taskId] || Promise.resolve();
    cardQueues[taskId] = previous.then(function () {
      return fetch(base + encodeURIComponent(taskId) + "/card", { credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 404) {
            var gone = document.getElementById("card-" + taskId);
            if (gone) gone.parentNode.removeChild(gone);
            countCards();
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (!html) return;
          var doc = parser.parseFromString(html, "text/html");
          var fresh = doc.querySelector("li.card");
          if (fresh) placeCard(document.importNode(fresh, true));
        })
        .catch(function () { scheduleRefresh(); });
    });
  }

  function onLiveMessage(message) {
    liveSeq += 1;
    var event = null;
    try { event = JSON.parse(message.data); } catch (error) { event = null; }
    var cards = document.querySelector("[data-cards]");
    if (cards && event && /^task\./.test(event.kind)) {
      if (event.task_id && /^task\.(created|updated|deleted)$/.test(event.kind)) {
        updateCard(cards.getAttribute("data-cards"), event.task_id);
      }
      scheduleReconcile();
      return;
    }
    scheduleRefresh();
  }

  function setLiveState(text) {
    var el = document.querySelector("[data-live-state]");
    if (el) el.textContent = text;
  }

  function startLive() {
    var url = document.body.getAttribute("data-live-stream");
    if (!url || !window.EventSource) return;
    var source = new EventSource(url);
    source.onopen = function () { setLiveState("live"); document.body.setAttribute("data-live", "open"); };
    source.onerror = function () { setLiveState("live updates reconnecting…"); document.body.setAttribute("data-live", "reconnecting"); };
    source.onmessage = onLiveMessage;
  }

  function replaceMain(doc, url, push) {
    var main = document.getElementById("main");
    var freshMain = doc.getElementById("main");
    if (!main || !freshMain) { window.location.assign(url); return; }
    var keep = focusedId();
    main.innerHTML = freshMain.innerHTML;
    document.title = doc.title;
    var stream = doc.body.getAttribute("data-live-stream");
    if (stream !== document.body.getAttribute("data-live-stream")) {
      window.location.assign(url); // another page with another stream: load it fully
      return;
    }
    var poll = doc.body.getAttribute("data-live-poll");
    if (poll) document.body.setAttribute("data-live-poll", poll);
    else document.body.removeAttribute("data-live-poll");
    if (push && url !== window.location.href) window.history.pushState({}, "", url);
    var alert = main.querySelector('[role="alert"]');
    if (alert) {
      alert.setAttribute("tabindex", "-1");
      alert.focus();
    } else {
      refocus(keep);
    }
    wireDragAndDrop();
    document.dispatchEvent(new CustomEvent("console:refreshed"));
  }

  function submitEnhanced(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var body = new URLSearchParams();
    data.forEach(function (value, key) { if (typeof value === "string") body.append(key, value); });
    form.setAttribute("aria-busy", "true");
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), "X-Console-Form": "1" }
    }).then(function (response) {
      return response.text().then(function (html) {
        form.removeAttribute("aria-busy");
        var doc = parser.parseFromString(html, "text/html");
        replaceMain(doc, response.url, response.redirected);
        if (response.ok && form.hasAttribute("data-reset")) {
          var again = document.getElementById(form.id);
          if (again && again.reset) again.reset();
        }
      });
    }).catch(function () {
      form.removeAttribute("aria-busy");
      form.submit();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if ((form.method || "").toLowerCase() !== "post" || form.hasAttribute("data-plain")) return;
    event.preventDefault();
    submitEnhanced(form, event.submitter);
  });

  var dragged = null;

  function wireDragAndDrop() {
    var cards = document.querySelectorAll("[data-task-id][draggable]");
    for (var i = 0; i < cards.length; i++) {
      if (cards[i].dataset.wired) continue;
      cards[i].dataset.wired = "1";
      cards[i].addEventListener("dragstart", function (event) {
        dragged = event.currentTarget;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", dragged.getAttribute("data-task-id"));
        dragged.classList.add("dragging");
      });
      cards[i].addEventListener("dragend", function (event) {
        event.currentTarget.classList.remove("dragging");
        dragged = null;
      });
    }
    var columns = document.querySelectorAll("[data-drop-status]");
    for (var j = 0; j < columns.length; j++) {
      if (columns[j].dataset.wired) continue;
      columns[j].dataset.wired = "1";
      columns[j].addEventListener("dragover", function (event) {
        if (!dragged) return;
        event.preventDefault();
        event.currentTarget.classList.add("drop-target");
      });
      columns[j].addEventListener("dragleave", function (event) {
        event.currentTarget.classList.remove("drop-target");
      });
      columns[j].addEventListener("drop", function (event) {
        event.preventDefault();
        var column = event.currentTarget;
        column.classList.remove("drop-target");
        var card = dragged;
        if (!card) return;
        var status = column.getAttribute("data-drop-status");
        if (card.getAttribute("data-status") === status) return;
        var form = card.querySelector("form[data-move-form]");
        if (!form) return;
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "status";
        input.value = status;
        form.appendChild(input);
        submitEnhanced(form, null);
        form.removeChild(input); // sent already: a later button press must not carry it
      });
    }
  }

  window.addEventListener("popstate", function () { window.location.reload(); });

  // The skip link moves keyboard focus, not only the scroll position.
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest(".skip-link") : null;
    if (!link) return;
    var main = document.getElementById("main");
    if (main) { event.preventDefault(); main.focus(); }
  });

  // Pages whose state lives outside Mission Control (a gateway's connection) poll themselves.
  // The attribute is read on every tick: a form answered with such a page starts it.
  function startPolling() {
    var last = Date.now();
    setInterval(function () {
      var seconds = parseFloat(document.body.getAttribute("data-live-poll") || "");
      if (!(seconds > 0) || document.hidden || Date.now() - last < seconds * 1000) return;
      last = Date.now();
      refresh();
    }, 500);
  }

  // A button with data-copy="<id>" copies that element's text (the approve commands).
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent;
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(source); done(); });
    } else { fallbackCopy(source); done(); }
  });

  function fallbackCopy(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
  }

  // A form's [data-busy-message] shows while it is being sent (a connection check, a sync).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var busy = form.querySelectorAll("[data-busy-message]");
    for (var i = 0; i < busy.length; i++) { busy[i].hidden = false; busy[i].setAttribute("role", "status"); }
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    wireDragAndDrop();
    startLive();
    startPolling();
  });
})();
