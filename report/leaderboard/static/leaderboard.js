
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    return v === null ? "" : v;
  }
  function sortTable(table, col, th) {
    var type = th.getAttribute("data-type");
    var current = th.getAttribute("aria-sort");
    var first = th.getAttribute("data-first") || "ascending";
    var dir = current === null ? first : (current === "ascending" ? "descending" : "ascending");
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) { heads[h].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, i) { r.setAttribute("data-i", String(i)); });
    var sign = dir === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var va = key(a.cells[col]), vb = key(b.cells[col]);
      if (va === "" && vb !== "") { return 1; }   /* missing cells always sort last */
      if (vb === "" && va !== "") { return -1; }
      var c = 0;
      if (va !== "" && vb !== "") {
        c = type === "num" ? (parseFloat(va) - parseFloat(vb)) : va.localeCompare(vb);
      }
      if (c === 0) { return parseInt(a.getAttribute("data-i"), 10) - parseInt(b.getAttribute("data-i"), 10); }
      return sign * c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll("table.lb");
  Array.prototype.forEach.call(tables, function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      if (!th.hasAttribute("data-type")) { return; }
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortTable(table, col, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, col, th); }
      });
    });
  });
})();
