/** This process's listeners of a kind of committed write, told at once (before the fleet's NOTIFY comes back). */
export interface LocalChanges<C> {
  subscribe(handler: (change: C) => void): () => void;
}

/** The listeners, and `tell`, which the announcing store calls once a write has committed. */
export function localChangeHub<C>(): LocalChanges<C> & { tell(change: C): void } {
  const handlers = new Set<(change: C) => void>();
  return {
    subscribe(handler) {
      handlers.add(handler);
      return () => void handlers.delete(handler);
    },
    tell(change) {
      for (const handler of handlers) handler(change);
    },
  };
}
