// Adds the reader's local time next to each UTC time. The page reads fine without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var time = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var day = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric" });
  var utcDay = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", timeZone: "UTC"
  });
  document.querySelectorAll("time[datetime]").forEach(function (node) {
    var when = new Date(node.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    var local = document.createElement("span");
    local.className = "local";
    var date = day.format(when) === utcDay.format(when) ? "" : day.format(when) + ", ";
    local.textContent = " (your time: " + date + time.format(when) + ")";
    node.after(local);
  });
});
