import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthError } from '../oauth/errors.js';
import { html, type SafeHtml } from './html.js';
import { layout, sendPage } from './page.js';

/**
 * Shown instead of redirecting when the application or its redirect URI cannot be trusted: sending the
 * error anywhere would make Gatehouse an open redirector. The person gets the reason; the developer the code.
 */
export function authorizationErrorPage(error: OAuthError): SafeHtml {
  return layout({
    title: 'Cannot continue',
    body: html`<h1>This sign-in request cannot be used</h1>
<p class="lead">The application that sent you here made a request Gatehouse cannot accept, so you were not sent back to it. Go back to the application and try again, or tell its developer.</p>
<p class="alert" role="alert">${error.description}</p>
<footer>Error code for the developer: <code>${error.error}</code></footer>`,
  });
}

/**
 * Sends that page: 400, or 429 with the error's Retry-After when a limit refused the request. What the error holds
 * for the operator (e.g. why a metadata document could not be fetched) goes to the log, never onto the page.
 */
export function sendAuthorizationErrorPage(request: FastifyRequest, reply: FastifyReply, error: OAuthError): FastifyReply {
  if (error.logDetail) request.log.warn({ error: error.error, detail: error.logDetail }, 'authorization request refused');
  if (error.status === 429) reply.headers(error.headers);
  return sendPage(reply, error.status === 429 ? 429 : 400, authorizationErrorPage(error));
}
