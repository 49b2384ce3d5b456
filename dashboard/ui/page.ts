// The dashboard's HTML shell and style, embedded so that the page needs no file lookup and no
// build step; ui/app.ts fills it in. Everything is local (no CDN), and the CSP below allows only
// this origin's own script, style and JSON.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta
      http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
    />
    <title>kedge dashboard</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/dashboard/style.css" />
    <script type="module" src="/dashboard/app.js"></script>
  </head>
  <body>
    <a class="skip" href="#services">Skip to services</a>
    <header class="top">
      <div class="brand">
        <h1>kedge</h1>
        <p id="summary" class="muted">Loading…</p>
      </div>
      <form id="search-form" role="search" class="search">
        <label for="search">Search services</label>
        <input id="search" type="search" autocomplete="off" spellcheck="false"
          placeholder="name, namespace, description, parameter" aria-describedby="search-count" />
        <span id="search-count" class="muted" aria-live="polite"></span>
      </form>
      <p id="status" class="status" role="status">Connecting…</p>
    </header>
    <main id="services" tabindex="-1">
      <noscript><p>The dashboard needs JavaScript; the same data is at /api/v1/services and /api/v1/revisions.</p></noscript>
      <p id="empty" class="empty" hidden></p>
    </main>
    <footer class="muted">
      Data from <a href="/api/v1/services">/api/v1/services</a>, <a href="/api/v1/revisions">/api/v1/revisions</a>,
      <a href="/api/v1/history">/api/v1/history</a> and <a href="/metrics">/metrics</a>; refreshed every 2 s.
    </footer>
  </body>
</html>
`;

export const DASHBOARD_CSS = `:root {
  color-scheme: light dark;
  --bg: #f6f8fa;
  --card: #ffffff;
  --text: #1f2328;
  --muted: #59636e;
  --border: #d1d9e0;
  --link: #0550ae;
  --focus: #0969da;
  --ok: #116329;
  --ok-bg: #dafbe1;
  --bad: #a40e26;
  --bad-bg: #ffebe9;
  --warn: #7d4e00;
  --warn-bg: #fff8c5;
  --c-observed: #0969da;
  --c-stable: #8250df;
  --c-desired: #bc4c00;
  --c-ready: #1a7f37;
  --c-panic: rgba(207, 34, 46, 0.14);
  --c-cold: #6e40c9;
  --grid: #d8dee4;
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117;
    --card: #151b23;
    --text: #e6edf3;
    --muted: #9198a1;
    --border: #3d444d;
    --link: #4493f8;
    --focus: #4493f8;
    --ok: #3fb950;
    --ok-bg: #12261e;
    --bad: #ff7b72;
    --bad-bg: #2d1214;
    --warn: #d29922;
    --warn-bg: #272115;
    --c-observed: #4493f8;
    --c-stable: #ab7df8;
    --c-desired: #f0883e;
    --c-ready: #3fb950;
    --c-panic: rgba(248, 81, 73, 0.18);
    --c-cold: #bc8cff;
    --grid: #30363d;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
a { color: var(--link); }
a:focus-visible, input:focus-visible, summary:focus-visible, main:focus-visible, button:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
  border-radius: 3px;
}
.muted { color: var(--muted); }
.skip { position: absolute; left: -999px; top: 0; background: var(--card); padding: 8px 12px; z-index: 2; }
.skip:focus { left: 8px; }
.top {
  position: sticky; top: 0; z-index: 1;
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px;
  padding: 10px 24px; background: var(--card); border-bottom: 1px solid var(--border);
}
.brand { display: flex; align-items: baseline; gap: 14px; }
.brand h1 { margin: 0; font-size: 20px; letter-spacing: 0.02em; }
.brand p { margin: 0; }
.search { display: flex; align-items: center; gap: 8px; flex: 1 1 360px; }
.search label { font-weight: 600; white-space: nowrap; }
.search input {
  flex: 1; min-width: 160px; max-width: 460px; padding: 6px 10px; font: inherit;
  color: var(--text); background: var(--bg); border: 1px solid var(--border); border-radius: 6px;
}
.status { margin: 0; font-size: 13px; }
.status.stale { color: var(--bad); font-weight: 600; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 8px; }
.empty { padding: 24px; text-align: center; color: var(--muted); }
footer { max-width: 1280px; margin: 0 auto; padding: 8px 24px 24px; font-size: 13px; }
.service {
  background: var(--card); border: 1px solid var(--border); border-radius: 8px;
  padding: 14px 18px 16px; margin-bottom: 16px;
}
.service-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 14px; }
.service-head h2 { margin: 0; font-size: 18px; }
.ns { font-weight: 400; color: var(--muted); font-size: 14px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.reason { margin: 6px 0 0; color: var(--bad); }
.urls { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0 0; padding: 0; list-style: none; font-size: 13px; }
.urls code { font-size: 12px; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px 28px; margin-top: 12px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
h3 { margin: 0 0 6px; font-size: 13px; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.doc p { margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px 3px 0; vertical-align: top; border-bottom: 1px solid var(--border); }
th { font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.split { display: flex; height: 22px; border-radius: 5px; overflow: hidden; border: 1px solid var(--border); }
.split span {
  display: flex; align-items: center; justify-content: center; min-width: 2px;
  color: #fff; font-size: 12px; font-weight: 600; white-space: nowrap; overflow: hidden;
}
.seg0 { background: #0969da; } .seg1 { background: #8250df; } .seg2 { background: #bc4c00; }
.seg3 { background: #1a7f37; } .seg4 { background: #bf3989; } .seg5 { background: #0a7c8c; }
.legend { list-style: none; margin: 6px 0 0; padding: 0; font-size: 13px; }
.legend li { display: flex; flex-wrap: wrap; gap: 2px 8px; align-items: baseline; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
.revisions { margin-top: 14px; }
.revision {
  display: grid; grid-template-columns: 270px minmax(0, 1fr); gap: 6px 18px;
  padding: 10px 0; border-top: 1px solid var(--border);
}
@media (max-width: 900px) { .revision { grid-template-columns: 1fr; } }
.revision h4 { margin: 0 0 4px; font-size: 14px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.facts { display: grid; grid-template-columns: auto auto; gap: 1px 12px; margin: 0; font-size: 13px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
.failure-slot { grid-column: 1 / -1; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0;
}
.failure {
  margin: 4px 0 0; padding: 8px 10px; border-radius: 6px;
  background: var(--bad-bg); color: var(--text); border-left: 4px solid var(--bad);
}
.failure strong { color: var(--bad); }
.failure pre { margin: 6px 0 0; white-space: pre-wrap; font-size: 12px; }
.chart { width: 100%; height: auto; display: block; }
.chart text { font-size: 10px; fill: var(--muted); font-family: inherit; }
.chart .grid { stroke: var(--grid); stroke-width: 1; }
.chart .observed { fill: none; stroke: var(--c-observed); stroke-width: 1.6; }
.chart .stable { fill: none; stroke: var(--c-stable); stroke-width: 1.4; stroke-dasharray: 4 3; }
.chart .desired { fill: none; stroke: var(--c-desired); stroke-width: 1.6; }
.chart .ready { fill: var(--c-ready); fill-opacity: 0.16; stroke: var(--c-ready); stroke-width: 1.2; }
.chart .panic { fill: var(--c-panic); }
.chart .cold { stroke: var(--c-cold); stroke-width: 1.4; stroke-dasharray: 2 2; }
.chart text.cold-label { fill: var(--c-cold); font-weight: 600; }
.chart-legend { display: flex; flex-wrap: wrap; gap: 2px 14px; margin: 2px 0 0; padding: 0; list-style: none; font-size: 12px; color: var(--muted); }
.key { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.key.observed { background: var(--c-observed); } .key.stable { background: var(--c-stable); }
.key.desired { background: var(--c-desired); } .key.ready { background: var(--c-ready); }
.key.panic { background: var(--c-panic); height: 10px; } .key.cold { background: var(--c-cold); width: 3px; height: 10px; }
details.logs { grid-column: 1 / -1; }
details.logs summary { cursor: pointer; color: var(--muted); font-size: 13px; }
details.logs pre {
  margin: 4px 0 0; padding: 8px 10px; max-height: 180px; overflow: auto; font-size: 12px;
  background: var(--bg); border: 1px solid var(--border); border-radius: 6px; white-space: pre-wrap;
}
.stderr { color: var(--bad); }
.errors { margin-top: 12px; }
.none { color: var(--muted); font-size: 13px; margin: 0; }
`;
