export const error = `<% layout('@layout') %>
<div class="problem" role="alert">
<p><strong><%= it.status %></strong> <%= it.detail %></p>
</div>
<p><a href="<%= it.site.home %>">Start page</a> · <a href="<%= it.site.processes %>">Processes</a> · <a href="<%= it.site.jobs %>">Jobs</a></p>
`;
