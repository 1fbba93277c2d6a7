import { createServer } from 'node:http';

/**
 * The ceiling: a bare node:http server that reads a form body and answers a token-sized JSON body with the
 * headers a token response carries. Whatever Gatehouse does per request is measured against this.
 */
const body = JSON.stringify({
  access_token: 'x'.repeat(600),
  token_type: 'Bearer',
  expires_in: 600,
  refresh_token: `gth_rt_${'x'.repeat(43)}`,
  scope: 'mcp:read mcp:write',
});

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' });
    response.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
