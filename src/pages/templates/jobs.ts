export const jobs = `<% layout('@layout') %>
<nav class="filters" aria-label="Filters">
<% for (const group of it.filters) { %><p><span class="muted"><%= group.label %>:</span>
<% for (const option of group.options) { %><a href="<%= option.href %>"<% if (option.current) { %> aria-current="true"<% } %>><%= option.label %></a>
<% } %></p>
<% } %></nav>
<div id="job-list" data-live aria-live="polite">
<p class="muted"><%= it.matched %> job<%= it.matched === 1 ? '' : 's' %><% if (it.filtered) { %> match<%= it.matched === 1 ? 'es' : '' %><% } %>; newest first.</p>
<% if (it.jobs.length) { %><div class="scroll"><table>
<thead><tr><th>Job</th><th>Process</th><th>Status</th><th>Progress</th><th>Created</th><th>Duration</th></tr></thead>
<tbody>
<% for (const job of it.jobs) { %><tr data-job-id="<%= job.jobID %>">
<td><a href="<%= job.page %>"><code><%= job.jobID.slice(0, 8) %></code></a></td>
<td><a href="<%= job.processPage %>"><%= job.processID %></a></td>
<td><span class="status <%= job.status %>"><%= job.status %></span></td>
<td><% if (job.progress !== undefined) { %><progress max="100" value="<%= job.progress %>"><%= job.progress %>%</progress><% } %></td>
<td><time datetime="<%= job.createdIso %>"><%= job.created %></time></td>
<td<% if (job.runningSince) { %> data-running-since="<%= job.runningSince %>"<% } %>><%= job.duration %></td>
</tr>
<% } %></tbody>
</table></div><% } %>
<%~ include('@pager', it) %>
</div>
`;
