export const processes = `<% layout('@layout') %>
<% if (it.processes.length === 0) { %><p>This server offers no processes.</p><% } else { %>
<ul class="cards">
<% for (const process of it.processes) { %><li>
<a href="<%= process.page %>"><%= process.title %></a> <code><%= process.id %></code> <span class="muted">v<%= process.version %></span>
<% if (process.description) { %><span><%= process.description %></span><% } %>
<span class="muted"><%= process.modes %> · <a href="<%= process.jobs %>">its jobs</a></span>
</li>
<% } %></ul>
<% } %>
<%~ include('@pager', it) %>
`;
