import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where a generated first-admin password goes when no terminal can show it. */
export const INITIAL_ADMIN_PASSWORD_FILE = 'initial-admin-password';

export interface PasswordAnnouncement {
  /** A terminal to show the password on; used only when it really is one (`isTTY`). */
  terminal: { isTTY?: boolean; write(text: string): unknown };
  dataDir: string;
  /** Told where the password is, never the password itself. */
  log: { info(object: object, message: string): void };
}

/** The boxed notice shown on a terminal. */
export function adminPasswordNotice(password: string): string {
  const lines = [
    `Created user admin with password ${password}`,
    'It is shown only this once; change it with: gatehouse user passwd admin',
  ];
  const width = Math.max(...lines.map((line) => line.length));
  const rule = `+${'-'.repeat(width + 2)}+`;
  return [rule, ...lines.map((line) => `| ${line.padEnd(width)} |`), rule, ''].join('\n');
}

/**
 * Hands a generated first-admin password to the operator, never through the log stream: stdout is where
 * the JSON log goes, and a log shipper keeps what it reads. On a terminal it is shown there; otherwise it is
 * written to `<data dir>/initial-admin-password`, readable by the owner only, and the log says where.
 */
export function announceInitialAdminPassword(password: string, to: PasswordAnnouncement): void {
  if (to.terminal.isTTY) {
    to.terminal.write(adminPasswordNotice(password));
    return;
  }
  const file = path.join(to.dataDir, INITIAL_ADMIN_PASSWORD_FILE);
  mkdirSync(to.dataDir, { recursive: true, mode: 0o700 });
  // The mode applies only when the file is created, so a left-over file is removed first.
  rmSync(file, { force: true });
  writeFileSync(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  to.log.info({ file }, `Created user admin; its password is in ${file} (change it with: gatehouse user passwd admin)`);
}

/** Once the admin's password has been changed, the file holds a stale secret: remove it. */
export function forgetInitialAdminPassword(dataDir: string): void {
  rmSync(path.join(dataDir, INITIAL_ADMIN_PASSWORD_FILE), { force: true });
}
