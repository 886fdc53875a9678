export const job = `<% layout('@layout') %>
<% const job = it.job %>
<div id="job-status" data-live aria-live="polite" data-job-status="<%= job.status %>">
<p><span class="status <%= job.status %>"><%= job.status %></span> <a href="<%= job.processPage %>"><%= job.processID %></a></p>
<% if (job.message) { %><p class="message"><%= job.message %></p><% } %>
<% if (job.progress !== undefined) { %><p><progress max="100" value="<%= job.progress %>"><%= job.progress %>%</progress> <%= job.progress %>%</p><% } %>
<dl class="facts">
<dt>Duration</dt><dd<% if (job.runningSince) { %> data-running-since="<%= job.runningSince %>"<% } %>><%= job.duration %></dd>
<dt>Job id</dt><dd><code><%= job.jobID %></code></dd>
</dl>
<h2>Timeline</h2>
<svg class="timeline-bar" viewBox="0 0 100 4" preserveAspectRatio="none" role="img" aria-label="Time waiting, then running">
<rect class="waiting" x="0" y="0" width="<%= job.timeline.waiting %>" height="4"/>
<rect class="<%= job.timeline.state %>" x="<%= job.timeline.waiting %>" y="0" width="<%= job.timeline.running %>" height="4"/>
</svg>
<ol class="timeline">
<% for (const step of job.timeline.steps) { %><li<% if (step.at) { %> class="done"<% } %>><strong><%= step.label %></strong> <% if (step.at) { %><time datetime="<%= step.at %>"><%= step.shown %></time><% } else { %><span class="muted"><%= step.shown %></span><% } %></li>
<% } %></ol>
<% if (job.results) { %><p><a class="button" href="<%= job.results %>">Results</a></p><% } %>
</div>

<section id="log">
<h2>Log</h2>
<% if (job.logsPage) { %><p><a href="<%= job.logsPage %>">The log as a page</a> · <a href="<%= job.logsText %>">as text</a></p>
<pre class="log" data-log="<%= job.logsText %>"<% if (!job.finished) { %> data-follow<% } %> hidden></pre>
<% } else { %><p>This job ran inside the server (a local process), so it has no container logs.</p><% } %>
</section>

<section id="dismiss">
<details>
<summary><%= job.finished ? 'Remove this job…' : 'Dismiss this job…' %></summary>
<form method="post" action="<%= job.dismiss %>">
<p><%= job.finished ? 'The job and its results are removed.' : 'The job is stopped; it then reads dismissed.' %> This cannot be undone.</p>
<button type="submit" class="danger"><%= job.finished ? 'Yes, remove it' : 'Yes, dismiss it' %></button>
</form>
</details>
</section>
`;
