/** RFC 7523 §2.1: the JWT bearer grant type, which carries an ID-JAG (MCP Enterprise-Managed Authorization). */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
