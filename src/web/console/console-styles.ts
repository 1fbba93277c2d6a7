/** The console's layout on top of the pages' stylesheet: a wide column, navigation, tables that scroll at 390 px. */
export const CONSOLE_STYLESHEET = `
body.console { display: block; padding: 0; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--card); padding: 0.5rem; z-index: 2; }
.console-header { display: flex; flex-wrap: wrap; align-items: center; gap: 0.75rem; padding: 0.75rem 1rem; border-bottom: 1px solid var(--border); background: var(--card); }
.console-header .brand { margin: 0; color: inherit; text-decoration: none; }
.console-header .who { margin-left: auto; color: var(--muted); font-size: 0.9375rem; }
.console-header form button { width: auto; margin: 0; }
nav ul { list-style: none; margin: 0; padding: 0.5rem 1rem; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; border-bottom: 1px solid var(--border); }
nav a { color: var(--accent); text-decoration: none; padding: 0.25rem 0; display: inline-block; }
nav a[aria-current="page"] { color: var(--text); font-weight: 600; border-bottom: 2px solid var(--accent); }
body.console main { max-width: 72rem; margin: 1rem auto; padding: 1rem; border-radius: 0.5rem; }
h2 { font-size: 1.125rem; margin: 1.5rem 0 0.5rem; }
h3 { font-size: 1rem; margin: 0 0 0.5rem; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 0.9375rem; }
caption { text-align: left; color: var(--muted); padding-bottom: 0.25rem; }
th, td { text-align: left; padding: 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
td button { white-space: nowrap; }
td button, .actions button, button.small { width: auto; margin: 0 0.25rem 0.25rem 0; padding: 0.3rem 0.6rem; font-size: 0.875rem; }
button.danger { background: var(--error-text); color: var(--card); }
.forms { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(17rem, 1fr)); }
.api-form { margin-top: 1rem; padding: 1rem; border: 1px solid var(--border); border-radius: 0.5rem; }
fieldset { border: 1px solid var(--border); border-radius: 0.5rem; margin: 0 0 1rem; }
select, textarea, input[type="url"], input[type="number"], input[type="datetime-local"] { width: 100%; padding: 0.5rem; font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--border); border-radius: 0.5rem; }
.field.check { display: flex; gap: 0.5rem; align-items: center; }
.field.check label { margin: 0; }
.hint { display: block; color: var(--muted); font-size: 0.8125rem; }
.filter { display: grid; gap: 0 1rem; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); align-items: end; }
.filter button { margin-bottom: 1rem; }
.stats { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); margin: 0; }
.stats div { border: 1px solid var(--border); border-radius: 0.5rem; padding: 0.75rem; }
.stats dt { color: var(--muted); font-size: 0.875rem; }
.stats dd { margin: 0; font-size: 1.5rem; font-weight: 600; }
.state { font-weight: 600; }
.state-connected { color: #1a7f37; }
.state-error, .state-needs_auth { color: var(--error-text); }
.state-pending_oauth, .state-connecting { color: var(--notice-text); }
@media (prefers-color-scheme: dark) { .state-connected { color: #6fdd8b; } }
.secret output { display: block; padding: 0.5rem; background: var(--notice-bg); border: 1px solid var(--notice-border); word-break: break-all; font-family: ui-monospace, monospace; }
.form-result:empty, .console-status:empty { display: none; }
.form-result.failed { color: var(--error-text); }
pre.diff { overflow-x: auto; font-size: 0.8125rem; background: var(--bg); padding: 0.5rem; }
pre.diff .removed { background: var(--error-bg); color: var(--error-text); display: block; }
pre.diff .added { background: #e3f6e8; color: #14532d; display: block; }
@media (prefers-color-scheme: dark) { pre.diff .added { background: #173a22; color: #a6f0bd; } }
`;
