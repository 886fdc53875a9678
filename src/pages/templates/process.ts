export const process = `<% layout('@layout') %>
<p class="muted"><code><%= it.process.id %></code> · version <%= it.process.version %><% if (it.process.keywords.length) { %> · <%= it.process.keywords.join(', ') %><% } %></p>
<% if (it.process.description) { %><p class="lead"><%= it.process.description %></p><% } %>
<p><a href="<%= it.process.jobs %>">Jobs of this process</a></p>

<section id="run">
<h2>Run it</h2>
<% if (it.problem) { %><div class="problem" role="alert"><strong><%= it.problem.title %></strong>
<p><%= it.problem.detail %></p>
</div><% } %>
<form method="post" action="<%= it.form.action %>" enctype="<%= it.form.enctype %>" novalidate>
<% for (const field of it.form.fields) { %><div class="field">
<label for="field-<%= field.id %>"><%= field.title %><% if (field.required) { %> <span class="required">(required)</span><% } %></label>
<% if (field.kind === 'textarea' || field.kind === 'json') { %><textarea id="field-<%= field.id %>" aria-describedby="help-<%= field.id %>" name="<%= field.name %>" rows="3" placeholder="<%= field.hint %>"><%= field.value %></textarea>
<% } else if (field.kind === 'enum') { %><select id="field-<%= field.id %>" aria-describedby="help-<%= field.id %>" name="<%= field.name %>"><option value="">–</option><% for (const option of field.options) { %><option value="<%= option.value %>"<% if (option.selected) { %> selected<% } %>><%= option.label %></option><% } %></select>
<% } else if (field.kind === 'boolean') { %><select id="field-<%= field.id %>" aria-describedby="help-<%= field.id %>" name="<%= field.name %>"><option value="">–</option><option value="true"<% if (field.value === 'true') { %> selected<% } %>>true</option><option value="false"<% if (field.value === 'false') { %> selected<% } %>>false</option></select>
<% } else if (field.kind === 'number') { %><input id="field-<%= field.id %>" aria-describedby="help-<%= field.id %>" name="<%= field.name %>" type="number" step="<%= field.step %>" value="<%= field.value %>">
<% } else if (field.kind === 'file') { %><input id="field-<%= field.id %>" aria-describedby="help-<%= field.id %>" name="<%= field.name %>" type="file" accept="<%= field.accept %>">
<% } else if (field.kind === 'password') { %><input id="field-<%= field.id %>" aria-describedby="help-<%= field.id %>" name="<%= field.name %>" type="password" autocomplete="off" value="">
<% } else { %><input id="field-<%= field.id %>" aria-describedby="help-<%= field.id %>" name="<%= field.name %>" type="text" value="<%= field.value %>">
<% } %><% if (field.description) { %><small id="help-<%= field.id %>"><%= field.description %><% if (field.kind === 'json') { %> (JSON: <%= field.hint %>)<% } %></small><% } %>
</div>
<% } %><fieldset class="modes">
<legend>Answer</legend>
<% for (const mode of it.form.modes) { %><label><input type="radio" name="mode" value="<%= mode.value %>"<% if (mode.checked) { %> checked<% } %>> <%= mode.label %></label>
<% } %></fieldset>
<button type="submit">Run</button>
</form>
</section>

<section id="outputs">
<h2>Outputs</h2>
<dl>
<% for (const output of it.process.outputs) { %><dt><%= output.title %> <code><%= output.id %></code></dt><dd><%= output.description %> <span class="muted"><%= output.mediaType %></span></dd>
<% } %></dl>
</section>
`;
