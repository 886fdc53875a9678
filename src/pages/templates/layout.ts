// Every page: head, navigation, the page's own content, links to its JSON. Eta escapes every <%= %>.
export const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%= it.title %><% if (it.title !== it.site.title) { %> · <%= it.site.title %><% } %></title>
<link rel="stylesheet" href="<%= it.site.stylesheet %>">
<% if (it.json) { %><link rel="alternate" type="application/json" href="<%= it.json %>">
<% } %><script src="<%= it.site.script %>" defer></script>
</head>
<body<% if (it.live) { %> data-live-events="<%= it.live %>"<% } %>>
<header>
<a class="site" href="<%= it.site.home %>"><%= it.site.title %></a>
<nav>
<a href="<%= it.site.processes %>">Processes</a>
<a href="<%= it.site.jobs %>">Jobs</a>
<a href="<%= it.site.conformance %>">Conformance</a>
<a href="<%= it.site.apiDoc %>">API</a>
</nav>
</header>
<main>
<h1><%= it.title %></h1>
<%~ it.body %>
</main>
<footer>
<% if (it.json) { %><a href="<%= it.json %>">This page as JSON</a><% } %>
</footer>
</body>
</html>
`;
