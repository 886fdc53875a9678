export const pager = `<% if (it.prev || it.next) { %><nav class="pager">
<% if (it.prev) { %><a rel="prev" href="<%= it.prev %>">← Previous</a><% } %>
<% if (it.next) { %><a rel="next" href="<%= it.next %>">Next →</a><% } %>
</nav><% } %>
`;
