/** A parsed JSON object (a message, a document, a config file), read key by key. */
export type JsonObject = Record<string, unknown>;

/** Whether a parsed JSON value is an object: not an array, not null. A leaf, importable from every folder. */
export const isJsonObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
