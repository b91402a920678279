// Adds the reader's local time next to each UTC time. The page reads fine without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var format = new Intl.DateTimeFormat(undefined, {
    weekday: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  document.querySelectorAll("time[datetime]").forEach(function (node) {
    var when = new Date(node.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    var local = document.createElement("span");
    local.className = "local";
    local.textContent = " (" + format.format(when) + " your time)";
    node.after(local);
  });
});
