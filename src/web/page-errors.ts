import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { messagePage } from './login-pages.js';
import { sendPage } from './page.js';

/**
 * The error handler of a page surface: a readable page instead of JSON or a stack trace. A client's mistake keeps
 * its 4xx status (unreadable form, too large, wrong content type); anything else is logged and shown as a 500.
 */
export function pageErrorHandler(surface: string, options: { retry: string; link?: { href: string; label: string } }) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, `${surface} failed`);
    const text = status === 500 ? `Something went wrong on our side. ${options.retry}` : `The request could not be read. ${options.retry}`;
    return sendPage(reply, status, messagePage({ title: status === 500 ? 'Something went wrong' : 'Bad request', text, link: options.link }));
  };
}
