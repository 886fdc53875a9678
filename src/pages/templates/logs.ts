export const logs = `<% layout('@layout') %>
<p><a href="<%= it.job.page %>">The job</a> · <span class="status <%= it.job.status %>"><%= it.job.status %></span> · <a href="<%= it.job.logsText %>">as text</a></p>
<% if (it.truncated) { %><p class="muted">The first part of the log is left out; the whole log is in the text version.</p><% } %>
<pre class="log" data-log="<%= it.job.logsText %>"<% if (!it.job.finished) { %> data-follow<% } %>><%= it.text %></pre>
`;
