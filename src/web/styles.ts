/** The one stylesheet of the server-rendered pages; kept in code so there is no asset build step. */
export const STYLESHEET = `
:root {
  color-scheme: light dark;
  --bg: #f4f5f7;
  --card: #ffffff;
  --text: #1c2230;
  --muted: #5b6475;
  --border: #d5d9e0;
  --accent: #2f5bd3;
  --accent-hover: #2449b0;
  --accent-text: #ffffff;
  --focus: #8aa8ff;
  --error-bg: #fdecec;
  --error-text: #9b1c1c;
  --error-border: #f3b4b4;
  --notice-bg: #fff6e0;
  --notice-text: #7a4b00;
  --notice-border: #f1d28b;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151c;
    --card: #1b2029;
    --text: #e6e9ef;
    --muted: #a0a8b8;
    --border: #343b48;
    --accent: #6f8ff0;
    --accent-hover: #8aa3f4;
    --accent-text: #0d1018;
    --focus: #a9bdff;
    --error-bg: #3a1d1f;
    --error-text: #ffb4b4;
    --error-border: #6b3035;
    --notice-bg: #3a2f17;
    --notice-text: #ffd98a;
    --notice-border: #6b5624;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { font-size: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  align-items: center;
  justify-content: center;
  padding: 1.5rem 1rem;
  background: var(--bg);
  color: var(--text);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.brand {
  display: flex;
  align-items: center;
  gap: 0.5rem;
  margin-bottom: 1.25rem;
  font-weight: 600;
  font-size: 1.125rem;
  letter-spacing: 0.01em;
}
.brand svg { width: 1.75rem; height: 1.75rem; color: var(--accent); }
main {
  width: 100%;
  max-width: 24rem;
  padding: 2rem;
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: 0.75rem;
  box-shadow: 0 1px 2px rgb(0 0 0 / 0.04), 0 8px 24px rgb(0 0 0 / 0.06);
}
h1 { margin: 0 0 0.25rem; font-size: 1.375rem; line-height: 1.3; }
.lead { margin: 0 0 1.5rem; color: var(--muted); }
form { margin: 0; }
.field { margin-bottom: 1rem; }
label { display: block; margin-bottom: 0.375rem; font-weight: 500; font-size: 0.9375rem; }
input[type="text"], input[type="password"] {
  width: 100%;
  padding: 0.625rem 0.75rem;
  font: inherit;
  color: inherit;
  background: var(--bg);
  border: 1px solid var(--border);
  border-radius: 0.5rem;
}
input[aria-invalid="true"] { border-color: var(--error-border); }
button {
  width: 100%;
  margin-top: 0.5rem;
  padding: 0.675rem 1rem;
  font: inherit;
  font-weight: 600;
  color: var(--accent-text);
  background: var(--accent);
  border: 0;
  border-radius: 0.5rem;
  cursor: pointer;
}
button:hover { background: var(--accent-hover); }
button.secondary {
  color: var(--text);
  background: transparent;
  border: 1px solid var(--border);
}
button.secondary:hover { background: var(--bg); }
.sso-providers { list-style: none; margin: 0 0 1.25rem; padding: 0; }
.sso-providers li + li { margin-top: 0.5rem; }
a.button {
  display: block;
  padding: 0.675rem 1rem;
  text-align: center;
  font-weight: 600;
  color: var(--text);
  text-decoration: none;
  border: 1px solid var(--border);
  border-radius: 0.5rem;
}
a.button:hover { background: var(--bg); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.alert, .notice {
  margin: 0 0 1.25rem;
  padding: 0.75rem 0.875rem;
  border-radius: 0.5rem;
  border: 1px solid;
  font-size: 0.9375rem;
}
.alert { background: var(--error-bg); color: var(--error-text); border-color: var(--error-border); }
.notice { background: var(--notice-bg); color: var(--notice-text); border-color: var(--notice-border); }
.identity { margin: 0 0 1.5rem; font-size: 1.0625rem; }
.identity strong { word-break: break-all; }
dl.call dt { font-weight: 600; margin-top: 0.75rem; }
dl.call dd { margin: 0.25rem 0 0; }
pre.arguments { overflow: auto; max-height: 20rem; padding: 0.75rem; border: 1px solid var(--muted); border-radius: 6px; font-size: 0.875rem; white-space: pre-wrap; word-break: break-word; }
footer { margin-top: 1.25rem; font-size: 0.8125rem; color: var(--muted); }
`;

/** A small gate mark for the header and the favicon; `currentColor` lets CSS choose its colour. */
export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><path fill="currentColor" d="M16 2 4 7v8c0 7.2 5.1 13.4 12 15 6.9-1.6 12-7.8 12-15V7L16 2Zm-5 10h10v2H11v-2Zm0 4h10v2H11v-2Zm0 4h10v2H11v-2Z"/></svg>`;
