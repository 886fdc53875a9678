// The pages' stylesheet and script, served by the server itself (no CDN, no build step). The script
// only enhances: every page works without it.

export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5d6675; --bg: #fff; --line: #d8dde5; --accent: #1f5fbf; --ok: #1b7f3a; --bad: #b3261e; --run: #b36b00; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #9aa3b2; --bg: #14171c; --line: #2d333d; --accent: #7fb0ff; --ok: #5fce84; --bad: #ff8a80; --run: #ffc066; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
header .site { font-weight: 600; color: var(--fg); text-decoration: none; }
nav a { margin-right: 1rem; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
footer { max-width: 60rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .9rem; }
a { color: var(--accent); }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; }
pre { overflow-x: auto; padding: .75rem; border: 1px solid var(--line); border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.log { max-height: 30rem; overflow-y: auto; }
.lead { font-size: 1.1rem; }
.muted { color: var(--muted); }
.cards { list-style: none; padding: 0; display: grid; gap: .75rem; }
.cards li { padding: .75rem 1rem; border: 1px solid var(--line); border-radius: 8px; display: flex; flex-direction: column; gap: .25rem; }
.cards li > a { font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
.status { font-weight: 600; }
.status.successful { color: var(--ok); } .status.failed { color: var(--bad); } .status.running, .status.accepted { color: var(--run); } .status.dismissed { color: var(--muted); }
.filters p { margin: .25rem 0; display: flex; flex-wrap: wrap; gap: .25rem .75rem; }
.filters a[aria-current] { font-weight: 700; text-decoration: none; color: var(--fg); }
.pager { display: flex; justify-content: space-between; margin: 1rem 0; }
.field { display: flex; flex-direction: column; gap: .25rem; margin-bottom: 1rem; }
.field small { color: var(--muted); }
input, select, textarea, button { font: inherit; padding: .4rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); max-width: 100%; }
textarea { width: 100%; }
button, .button { cursor: pointer; background: var(--accent); color: var(--bg); border: 0; padding: .5rem 1rem; border-radius: 6px; text-decoration: none; display: inline-block; }
button.danger { background: var(--bad); }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin-bottom: 1rem; }
fieldset label { display: block; }
.required { color: var(--muted); font-weight: normal; }
.problem { border-left: 4px solid var(--bad); padding: .5rem 1rem; margin-bottom: 1rem; background: color-mix(in srgb, var(--bad) 8%, transparent); overflow-wrap: anywhere; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.timeline-bar { width: 100%; height: 1rem; border: 1px solid var(--line); border-radius: 4px; }
.timeline-bar .waiting { fill: var(--line); }
.timeline-bar .running, .timeline-bar .accepted { fill: var(--run); } .timeline-bar .successful { fill: var(--ok); } .timeline-bar .failed { fill: var(--bad); } .timeline-bar .dismissed { fill: var(--muted); }
.timeline { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem 2rem; }
.timeline li { color: var(--muted); }
.timeline li.done { color: var(--fg); }
.timeline li + li::before { content: "→ "; color: var(--muted); }
progress { width: 6rem; }
details { margin-top: 1rem; }
summary { cursor: pointer; color: var(--bad); }
@media (max-width: 40rem) { th:nth-child(5), td:nth-child(5) { display: none; } main { padding: .75rem; } }
`;

/**
 * The live parts: a page that names an event stream refreshes its [data-live] regions from the server
 * when a job changes (at most once a second, jittered, from the server's own cache); durations of running jobs
 * count up; a job's log is read, and followed while the job runs.
 */
export const SCRIPT = `'use strict';
(() => {
  const body = document.body;
  const events = body.dataset.liveEvents;
  const durationText = (seconds) => {
    if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + ' s';
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + ' min ' + Math.floor(seconds % 60) + ' s';
    return Math.floor(minutes / 60) + ' h ' + (minutes % 60) + ' min';
  };
  setInterval(() => {
    for (const element of document.querySelectorAll('[data-running-since]')) {
      element.textContent = durationText(Math.max(0, Date.now() - Date.parse(element.dataset.runningSince)) / 1000);
    }
  }, 1000);

  const statusOfPage = () => document.querySelector('[data-job-status]')?.dataset.jobStatus;
  const unfinished = () => ['accepted', 'running', undefined].includes(statusOfPage());

  const showLog = (pre, text) => {
    pre.hidden = false;
    pre.append(text);
    if (pre.textContent.length > 2000000) pre.textContent = pre.textContent.slice(-1000000);
    pre.scrollTop = pre.scrollHeight;
  };
  // A finished job's log, read once (a running one's comes over the event stream, below).
  const readLog = async (pre) => {
    const response = await fetch(pre.dataset.log, { headers: { Accept: 'text/plain' } }).catch(() => undefined);
    if (!response || !response.ok || !response.body) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true }));
      if (done) break;
      showLog(pre, value);
    }
  };
  const followed = document.querySelector('pre[data-log][data-follow]');
  for (const pre of document.querySelectorAll('pre[data-log]')) {
    if (pre !== followed || !events || !window.EventSource) readLog(pre);
  }

  if (!events || !window.EventSource) return;
  let due = false;
  let last = 0;
  const refresh = async () => {
    due = false;
    last = Date.now();
    const response = await fetch(location.href, { headers: { Accept: 'text/html' } }).catch(() => undefined);
    if (!response) return;
    const fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
    if (!response.ok) {
      const main = fresh.querySelector('main');
      if (main) document.querySelector('main').replaceWith(main);
      return;
    }
    for (const region of document.querySelectorAll('[data-live]')) {
      const replacement = fresh.getElementById(region.id);
      if (replacement) region.replaceWith(replacement);
    }
  };
  // The stream of a job's page carries that job's changes only (and its log while it runs); the list's, every job's.
  const source = new EventSource(events);
  if (followed) {
    // The server sends the log's tail first on each connection: after a reconnection, start over.
    source.addEventListener('open', () => (followed.textContent = ''));
    source.addEventListener('log-reset', () => (followed.textContent = ''));
    source.addEventListener('log', (event) => showLog(followed, JSON.parse(event.data)));
  }
  source.addEventListener('job', () => {
    if (due) return;
    due = true;
    // Up to a second of jitter: many viewers of one change do not all ask at the same moment.
    setTimeout(refresh, Math.max(0, 1000 - (Date.now() - last)) + Math.random() * 1000);
  });
})();
`;
