export const landing = `<% layout('@layout') %>
<% if (it.description) { %><p class="lead"><%= it.description %></p><% } %>
<ul class="cards">
<li><a href="<%= it.site.processes %>">Processes</a><span>what this server runs, and a form to run each</span></li>
<li><a href="<%= it.site.jobs %>">Jobs</a><span>live: their status, progress, timeline, results and logs</span></li>
<li><a href="<%= it.site.conformance %>">Conformance</a><span>the OGC API – Processes classes this server implements</span></li>
<li><a href="<%= it.site.apiDoc %>">API documentation</a><span>Swagger UI over the OpenAPI document</span></li>
</ul>
`;
