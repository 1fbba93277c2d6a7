import { storeOn, type OpenedStore } from '../../src/store/index.js';
import { postgresNotifications, type Notifications } from '../../src/store/notifications.js';
import { openPostgres } from '../../src/store/postgres.js';
import type { Database } from '../../src/store/db.js';
import { freshPostgresSchema } from './backends.js';
import { waitFor } from './wait-for.js';

export interface PostgresProcess {
  store: OpenedStore;
  notifications: Notifications;
}

/**
 * Processes sharing one fresh PostgreSQL schema, each with its own pool and its own LISTEN connection, as replicas
 * of a fleet have: `open` adds one, `listening` waits until it hears the others, `close` ends them all and drops
 * the schema.
 */
export async function postgresProcesses() {
  const schema = await freshPostgresSchema();
  const databases: Database[] = [];
  const opened: PostgresProcess[] = [];
  return {
    schema,
    async open(): Promise<PostgresProcess> {
      const database = openPostgres(schema.url, { max: 2 });
      databases.push(database);
      await database.migrate();
      const notifications = postgresNotifications(database, schema.url);
      const process = { store: storeOn(database, notifications), notifications };
      opened.push(process);
      return process;
    },
    async listening(process: PostgresProcess): Promise<void> {
      await process.notifications.ready();
      await waitFor('the process listens', () => (process.notifications.hearsOtherProcesses() ? true : undefined));
    },
    async close(): Promise<void> {
      for (const process of opened) await process.notifications.close();
      for (const database of databases) await database.close();
      await schema.drop();
    },
  };
}

/** Whether `holds` comes true within `ms` (polled every 20 ms): a fleet's promise of how soon a change is heard. */
export async function holdsWithin(ms: number, holds: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() <= deadline) {
    if (await holds()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}
