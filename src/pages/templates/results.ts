export const results = `<% layout('@layout') %>
<p><a href="<%= it.job %>">The job</a></p>
<% if (it.outputs.length === 0) { %><p>The job returned no outputs.</p><% } %>
<% for (const output of it.outputs) { %><section class="output">
<h2><%= output.title %> <code><%= output.id %></code></h2>
<% if (output.href) { %><p><a href="<%= output.href %>">Download</a> <span class="muted"><%= output.mediaType %><% if (output.size !== undefined) { %>, <%= output.size %> bytes<% } %></span></p>
<% } else { %><pre><%= output.text %></pre><p class="muted"><%= output.mediaType %></p>
<% } %></section>
<% } %>
`;
