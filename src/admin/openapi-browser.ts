import { retryAfter, type JsonSchema, type MediaContent, type OpenApiDocument } from './openapi-parts.js';

/** The browser sign-in and sign-out pages (`/login`, `/logout`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const htmlPage: MediaContent = { 'text/html': { schema: { type: 'string' } } };
const signInForm: JsonSchema = {
  type: 'object', required: ['username', 'password'],
  properties: { username: { type: 'string' }, password: { type: 'string' }, next: { type: 'string' } },
};

export const browserPaths: Paths = {
  '/login': {
    get: {
      summary: 'Sign-in page', tags: ['browser'], operationId: 'signInPage',
      parameters: [{ name: 'next', in: 'query', required: false, schema: { type: 'string' }, description: 'Local path to return to after signing in' }],
      responses: {
        '200': { description: 'The sign-in form', content: htmlPage },
        '303': { description: 'Already signed in: redirect to `next` or /' },
      },
    },
    post: {
      summary: 'Sign in', tags: ['browser'], operationId: 'signIn',
      description: 'Throttled per account and per client IP; unknown users and wrong passwords get the same answer.',
      requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: signInForm } } },
      responses: {
        '303': { description: 'Signed in: session cookie set, redirect to `next` or /' },
        '400': { description: 'Missing fields', content: htmlPage },
        '401': { description: 'Wrong username or password', content: htmlPage },
        '403': { description: 'Cross-site form post refused', content: htmlPage },
        '429': { description: 'Too many failed attempts', headers: retryAfter, content: htmlPage },
      },
    },
  },
  '/logout': {
    post: {
      summary: 'Sign out', tags: ['browser'], operationId: 'signOut',
      responses: {
        '303': { description: 'Session ended, redirect to /login' },
        '403': { description: 'Cross-site form post refused', content: htmlPage },
      },
    },
  },
};
