import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeWait, signInPage } from '../../src/web/login-pages.js';

describe('sign-in page', () => {
  it('focuses the username when it is empty and the password when the username is filled in', () => {
    assert.match(signInPage({}).markup, /name="username"[^>]*autofocus/);
    const retry = signInPage({ username: 'ada', message: { kind: 'alert', text: 'Wrong username or password.' } }).markup;
    assert.match(retry, /name="password"[^>]*autofocus/);
    assert.doesNotMatch(retry, /name="username"[^>]*autofocus/);
  });

  it('announces a failure as an alert tied to the fields', () => {
    const page = signInPage({ username: 'ada', message: { kind: 'alert', text: 'Wrong username or password.' } }).markup;
    assert.match(page, /<p class="alert" role="alert" id="form-message">Wrong username or password\.<\/p>/);
    assert.match(page, /name="password"[^>]*aria-invalid="true" aria-describedby="form-message"/);
  });

  it('leaves out the hidden next field when there is no next', () => {
    assert.doesNotMatch(signInPage({}).markup, /name="next"/);
  });
});

describe('waits as a person would say them', () => {
  it('uses seconds under a minute and rounds minutes up', () => {
    assert.equal(describeWait(1), '1 second');
    assert.equal(describeWait(30), '30 seconds');
    assert.equal(describeWait(60), '1 minute');
    assert.equal(describeWait(61), '2 minutes');
    assert.equal(describeWait(900), '15 minutes');
  });
});
