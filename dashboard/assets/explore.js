/* CX Pulse explorer: download an export with a progress bar (rows for CSV, bytes for Excel).
   Loaded on every page by Dash; it only acts on the explorer's export buttons. */
window.cxpulseExport = function (callbackContext, urls) {
  const trigger = (callbackContext.triggered[0] || {}).prop_id || "";
  const kind = trigger.indexOf("xlsx") >= 0 ? "xlsx" : "csv";
  const url = urls && urls[kind];
  if (!url) { return window.dash_clientside.no_update; }
  const setBar = function (fraction, text) {
    const width = Math.max(0, Math.min(100, Math.round(fraction * 100))) + "%";
    window.dash_clientside.set_props("explore-export-bar", { style: { width: width } });
    window.dash_clientside.set_props("explore-export-status", { children: text });
  };
  setBar(0, "…");
  fetch(url, { credentials: "same-origin" }).then(async function (response) {
    if (!response.ok) { setBar(0, "HTTP " + response.status); return; }
    const rows = parseInt(response.headers.get("X-Export-Rows") || "0", 10);
    const bytes = parseInt(response.headers.get("Content-Length") || "0", 10);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parts = [];
    let received = 0, lines = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) { break; }
      parts.push(value);
      received += value.length;
      if (kind === "csv") {
        const text = decoder.decode(value, { stream: true });
        for (let i = 0; i < text.length; i++) { if (text.charCodeAt(i) === 10) { lines++; } }
        const done_rows = Math.max(0, lines - 1);
        setBar(rows ? done_rows / rows : 0, done_rows.toLocaleString() + " / " + rows.toLocaleString());
      } else {
        setBar(bytes ? received / bytes : 0, Math.round(received / 1024).toLocaleString() + " kB");
      }
    }
    const name = (response.headers.get("Content-Disposition") || "").split("filename=")[1];
    const blob = new Blob(parts, { type: response.headers.get("Content-Type") || "" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = (name || "cxpulse-export." + kind).replace(/"/g, "");
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    setBar(1, "✓ " + rows.toLocaleString());
  }).catch(function (error) { setBar(0, String(error)); });
  return "…";
};
