export const conformance = `<% layout('@layout') %>
<p>This server implements these conformance classes of OGC API – Processes – Part 1: Core.</p>
<ul>
<% for (const uri of it.classes) { %><li><code><%= uri %></code></li>
<% } %></ul>
`;
