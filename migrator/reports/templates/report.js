(function () {
  "use strict";
  // Pages and filters the rows embedded as JSON. Report data only ever reaches the page
  // through textContent, never as markup.
  var PAGE_SIZE = 100;

  function byId(id) { return document.getElementById(id); }

  function readJson(id) {
    var node = byId(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function make(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function show(value) {
    if (value === null || value === undefined) { return "\u2014"; }
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function table(headers, rows) {
    var result = make("table"), head = make("tr"), body = make("tbody");
    headers.forEach(function (h) { head.appendChild(make("th", h)); });
    result.appendChild(make("thead")).appendChild(head);
    rows.forEach(function (cells) {
      var tr = make("tr");
      cells.forEach(function (c) { tr.appendChild(make("td", show(c))); });
      body.appendChild(tr);
    });
    result.appendChild(body);
    return result;
  }

  // Labels name the run's own source and target ("Dyte v1", "RealtimeKit"), as the page does.
  function details(d, names) {
    var titles = names.titles, box = make("div", null, "row-details"), facts = make("dl");
    var labels = [["v1", titles.source + " id"], ["v2", titles.target + " id"], ["parent", titles.source + " meeting"],
                  ["state", "ledger state"], ["reason", "reason"], ["problem", "problem"], ["error", "error"],
                  ["at", "at"], ["detail", "detail"]];
    labels.forEach(function (f) {
      if (d[f[0]] !== undefined) { facts.appendChild(make("dt", f[1])); facts.appendChild(make("dd", show(d[f[0]]))); }
    });
    box.appendChild(facts);
    if (d.changes) {
      box.appendChild(make("h4", "Field-level diff"));
      box.appendChild(table(["field", titles.target + " holds now", "the mapping wants"], d.changes));
    }
    if (d.notes) {
      box.appendChild(make("h4", "Translation notes"));
      var columns = ["note", titles.source + " field", titles.target + " field", titles.source + " value",
                     titles.target + " value", "why"];
      box.appendChild(table(columns, d.notes.map(function (n) {
        var t = names.notes[n[0]];
        return [t[0], t[1], t[2], n[1], n[2], t[3]];
      })));
    }
    if (d.desired) {
      var payload = make("details");
      payload.appendChild(make("summary", titles.target + " request body"));
      payload.appendChild(make("pre", JSON.stringify(d.desired, null, 2)));
      box.appendChild(payload);
    }
    return box;
  }

  function explorer(rows, names) {
    var kind = byId("filter-kind"), action = byId("filter-action"), search = byId("filter-text");
    var body = byId("rows-body"), info = byId("page-info"), prev = byId("page-prev"), next = byId("page-next");
    var matches = rows, page = 0, pending = null;

    function fill(select, labels, column) {
      var counts = labels.map(function () { return 0; });
      rows.forEach(function (r) { counts[r[column]] += 1; });
      labels.forEach(function (label, i) {
        var option = make("option", label + " (" + counts[i] + ")");
        option.value = String(i);
        select.appendChild(option);
      });
    }

    // "=text" matches a whole column (id, name or detail); anything else is a substring.
    function matchesText(r, q) {
      var columns = [r[2], r[3] || "", r[4] || ""];
      if (q.charAt(0) === "=") {
        return columns.some(function (c) { return c.toLowerCase() === q.slice(1); });
      }
      return columns.some(function (c) { return c.toLowerCase().indexOf(q) >= 0; });
    }

    function apply() {
      var k = kind.value, a = action.value, q = search.value.trim().toLowerCase();
      matches = rows.filter(function (r) {
        return (k === "" || r[0] === Number(k)) && (a === "" || r[1] === Number(a)) && (q === "" || matchesText(r, q));
      });
      page = 0;
      render();
    }

    function toggle(tr, r, button) {
      var open = tr.nextSibling && tr.nextSibling.className === "row-open";
      if (open) { body.removeChild(tr.nextSibling); } else {
        var extra = make("tr", null, "row-open"), cell = make("td");
        cell.colSpan = 6;
        cell.appendChild(details(r[5], names));
        extra.appendChild(cell);
        body.insertBefore(extra, tr.nextSibling);
      }
      button.textContent = open ? "+" : "\u2212";
      button.setAttribute("aria-expanded", String(!open));
    }

    function line(r) {
      var tr = make("tr"), cell = make("td"), button = make("button", "+", "toggle");
      var actionName = names.actions[r[1]];
      button.type = "button";
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-label", "details");
      button.addEventListener("click", function () { toggle(tr, r, button); });
      cell.appendChild(button);
      tr.appendChild(cell);
      tr.appendChild(make("td", names.kinds[r[0]]));
      tr.appendChild(make("td", actionName, "action-" + actionName));
      tr.appendChild(make("td", r[2], "id"));
      tr.appendChild(make("td", r[3]));
      tr.appendChild(make("td", r[4]));
      return tr;
    }

    function render() {
      var start = page * PAGE_SIZE, slice = matches.slice(start, start + PAGE_SIZE), rowsHtml = document.createDocumentFragment();
      slice.forEach(function (r) { rowsHtml.appendChild(line(r)); });
      body.textContent = "";
      body.appendChild(rowsHtml);
      info.textContent = matches.length ? "rows " + (start + 1) + "\u2013" + (start + slice.length) + " of " + matches.length : "no rows match";
      prev.disabled = page === 0;
      next.disabled = start + PAGE_SIZE >= matches.length;
    }

    function select(selectNode, labels, label) {
      var i = labels.indexOf(label);
      selectNode.value = i >= 0 ? String(i) : "";
    }

    fill(kind, names.kinds, 0);
    fill(action, names.actions, 1);
    if (names.shown < names.total) {
      var note = byId("rows-truncated");
      note.textContent = "Only the first " + names.shown + " of " + names.total +
        " rows fit in this page (it stays under 10 MB); every row is in " + names.source + ".";
      note.hidden = false;
    }
    kind.addEventListener("change", apply);
    action.addEventListener("change", apply);
    search.addEventListener("input", function () { clearTimeout(pending); pending = setTimeout(apply, 150); });
    prev.addEventListener("click", function () { page -= 1; render(); });
    next.addEventListener("click", function () { page += 1; render(); });
    Array.prototype.forEach.call(document.querySelectorAll("button[data-kind]"), function (b) {
      b.addEventListener("click", function () {
        select(kind, names.kinds, b.getAttribute("data-kind"));
        select(action, names.actions, b.getAttribute("data-action"));
        search.value = b.getAttribute("data-search") || "";
        apply();
        byId("rows").scrollIntoView();
      });
    });
    render();
  }

  var rows = readJson("report-rows"), names = readJson("report-names");
  if (rows && names) { explorer(rows, names); }
  document.documentElement.setAttribute("data-ready", String(Math.round(performance.now())));
})();
