import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, html, SafeHtml } from '../../src/web/html.js';

describe('html templates', () => {
  it('escapes every interpolated string, in content and in attribute values', () => {
    const name = `"><img src=x onerror='alert(1)'>&`;
    const page = html`<p title="${name}">${name}</p>`;
    assert.equal(
      page.markup,
      '<p title="&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;">&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;</p>',
    );
  });

  it('nests templates without escaping them twice', () => {
    const item = (text: string) => html`<li>${text}</li>`;
    assert.equal(html`<ul>${['a<b', 'c&d'].map(item)}</ul>`.markup, '<ul><li>a&lt;b</li><li>c&amp;d</li></ul>');
  });

  it('renders nothing for null, undefined and booleans, so conditions read naturally', () => {
    const shown = (flag: boolean) => html`<div>${flag && html`<b>on</b>`}${null}${undefined}</div>`.markup;
    assert.equal(shown(false), '<div></div>');
    assert.equal(shown(true), '<div><b>on</b></div>');
  });

  it('renders numbers as text', () => {
    assert.equal(html`<span>${42}</span>`.markup, '<span>42</span>');
  });

  it('treats only SafeHtml as markup', () => {
    assert.equal(html`${new SafeHtml('<br>')}${'<br>'}`.markup, '<br>&lt;br&gt;');
    assert.equal(escapeHtml(`<>&"'`), '&lt;&gt;&amp;&quot;&#39;');
  });
});
