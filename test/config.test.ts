import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { tempDir } from './helpers/backends.js';

const temp = tempDir('gatehouse-config-');
after(() => temp.remove());

function configFile(name: string, text: string): string {
  const file = path.join(temp.dir, name);
  writeFileSync(file, text);
  return file;
}

/** Asserts that loading refuses with a ConfigError whose message contains every given part. */
function assertRefused(load: () => unknown, ...parts: string[]): void {
  assert.throws(load, (error: Error) => {
    assert.ok(error instanceof ConfigError, `${error.name}: ${error.message}`);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" names ${part}`);
    return true;
  });
}

describe('config precedence', () => {
  const json = configFile('gatehouse.json', JSON.stringify({ host: '127.0.0.2', port: 7001, logLevel: 'warn', dataDir: '/tmp/from-file' }));
  const yaml = configFile('gatehouse.yaml', 'host: 127.0.0.3\nport: 7002\nlogLevel: debug\nsessions:\n  idleTimeoutSeconds: 60\n');

  it('uses the defaults when nothing is given', () => {
    const config = loadConfig({}, {});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8080);
    assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(config.dataDir, path.resolve('./data'));
    assert.equal(config.demo, true);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.secureCookies, false);
  });

  it('a JSON config file overrides the defaults', () => {
    const config = loadConfig({ config: json }, {});
    assert.equal(config.host, '127.0.0.2');
    assert.equal(config.port, 7001);
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.dataDir, '/tmp/from-file');
    assert.equal(config.configFile, json);
  });

  it('a YAML config file is read too, and a nested value keeps its siblings’ defaults', () => {
    const config = loadConfig({}, { GATEHOUSE_CONFIG: yaml });
    assert.equal(config.host, '127.0.0.3');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.sessions.idleTimeoutSeconds, 60);
    assert.equal(config.sessions.absoluteTimeoutSeconds, 7 * 24 * 3600);
  });

  it('the environment overrides the file', () => {
    const config = loadConfig({ config: json }, { GATEHOUSE_PORT: '7100', GATEHOUSE_LOG_LEVEL: 'error' });
    assert.equal(config.port, 7100);
    assert.equal(config.logLevel, 'error');
    assert.equal(config.host, '127.0.0.2');
  });

  it('flags override the environment and the file', () => {
    const config = loadConfig({ config: json, port: '7200', host: '0.0.0.0' }, { GATEHOUSE_PORT: '7100', GATEHOUSE_HOST: '127.0.0.9' });
    assert.equal(config.port, 7200);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.publicUrl, 'http://127.0.0.1:7200', 'a wildcard bind address is reached through loopback');
  });

  it('secrets come from the environment', () => {
    const config = loadConfig({}, { GATEHOUSE_SECRET_KEY: 'k', GATEHOUSE_ADMIN_PASSWORD: 'p' });
    assert.equal(config.secretKey, 'k');
    assert.equal(config.adminPassword, 'p');
  });
});

describe('config values', () => {
  it('a public URL loses its trailing slash', () => {
    assert.equal(loadConfig({ publicUrl: 'https://gate.example.com/' }, {}).publicUrl, 'https://gate.example.com');
    assert.equal(loadConfig({}, { GATEHOUSE_PUBLIC_URL: 'https://gate.example.com/base//' }).publicUrl, 'https://gate.example.com/base');
    assert.equal(loadConfig({ publicUrl: 'HTTPS://Gate.Example.COM:443/Base/' }, {}).publicUrl, 'https://gate.example.com/Base', 'normal form: lower-case scheme and host, no default port');
    assert.equal(loadConfig({ publicUrl: 'http://127.0.0.1:80' }, {}).publicUrl, 'http://127.0.0.1');
  });

  it('an https public URL turns on secure cookies, http does not', () => {
    assert.equal(loadConfig({ publicUrl: 'https://gate.example.com' }, {}).secureCookies, true);
    assert.equal(loadConfig({ publicUrl: 'http://gate.example.com' }, {}).secureCookies, false);
  });

  it('a public URL with a query, or not http(s), is refused naming --public-url', () => {
    assertRefused(() => loadConfig({ publicUrl: 'https://gate.example.com/?a=1' }, {}), '--public-url');
    assertRefused(() => loadConfig({ publicUrl: 'ftp://gate.example.com' }, {}), '--public-url');
  });

  it('a postgres:// database URL selects PostgreSQL', () => {
    assert.equal(loadConfig({ databaseUrl: 'postgres://u@127.0.0.1:5432/db' }, {}).databaseUrl, 'postgres://u@127.0.0.1:5432/db');
  });

  it('a malformed database URL is refused with a ConfigError naming --database-url', () => {
    for (const bad of ['not a url', 'mysql://u@h/db', 'postgres://']) {
      assertRefused(() => loadConfig({ databaseUrl: bad }, {}), '--database-url: must be a postgres://');
    }
    assertRefused(() => loadConfig({}, { GATEHOUSE_DATABASE_URL: 'sqlite:./x.db' }), 'GATEHOUSE_DATABASE_URL: must be');
  });

  it('a bad port is refused naming --port', () => {
    for (const bad of ['http', '70000', '-1', '80.5']) assertRefused(() => loadConfig({ port: bad }, {}), '--port');
    assertRefused(() => loadConfig({}, { GATEHOUSE_PORT: 'eighty' }), 'GATEHOUSE_PORT: ');
  });

  it('the shutdown timeout defaults to 25 s, comes from its flag, variable or file, and is refused naming where it came from when not a whole positive number', () => {
    assert.equal(loadConfig({}, {}).shutdownTimeoutSeconds, 25);
    assert.equal(loadConfig({ shutdownTimeoutSeconds: '3' }, { GATEHOUSE_SHUTDOWN_TIMEOUT_SECONDS: '9' }).shutdownTimeoutSeconds, 3);
    assert.equal(loadConfig({}, { GATEHOUSE_SHUTDOWN_TIMEOUT_SECONDS: '9' }).shutdownTimeoutSeconds, 9);
    const file = configFile('shutdown.yaml', 'shutdownTimeoutSeconds: 40\n');
    assert.equal(loadConfig({ config: file }, {}).shutdownTimeoutSeconds, 40);
    for (const bad of ['0', '-5', '2.5', 'soon', '86400']) {
      assertRefused(() => loadConfig({ shutdownTimeoutSeconds: bad }, {}), '--shutdown-timeout-seconds: ');
      assertRefused(() => loadConfig({}, { GATEHOUSE_SHUTDOWN_TIMEOUT_SECONDS: bad }), 'GATEHOUSE_SHUTDOWN_TIMEOUT_SECONDS: ');
    }
  });

  it('unknown keys in the config file are refused, naming them', () => {
    const file = configFile('typo.json', JSON.stringify({ prot: 8080, host: '127.0.0.1' }));
    assertRefused(() => loadConfig({ config: file }, {}), 'prot', 'not a known setting');
    const nested = configFile('nested.yaml', 'sessions:\n  idleTimeout: 5\n');
    assertRefused(() => loadConfig({ config: nested }, {}), 'sessions.idleTimeout');
  });

  it('an unreadable or malformed config file is refused naming --config', () => {
    assertRefused(() => loadConfig({ config: path.join(temp.dir, 'missing.yaml') }, {}), '--config');
    assertRefused(() => loadConfig({ config: configFile('broken.json', '{"port": ') }, {}), '--config', 'JSON');
    assertRefused(() => loadConfig({ config: configFile('list.yaml', '- a\n- b\n') }, {}), '--config');
  });

  it('--no-demo and GATEHOUSE_NO_DEMO switch the demo upstream off', () => {
    assert.equal(loadConfig({ noDemo: true }, {}).demo, false);
    assert.equal(loadConfig({}, { GATEHOUSE_NO_DEMO: '1' }).demo, false);
    assert.equal(loadConfig({}, { GATEHOUSE_NO_DEMO: 'true' }).demo, false);
    assert.equal(loadConfig({}, { GATEHOUSE_NO_DEMO: 'false' }).demo, true);
    assert.equal(loadConfig({ config: configFile('demo.yaml', 'demo: false\n') }, {}).demo, false);
    assertRefused(() => loadConfig({}, { GATEHOUSE_NO_DEMO: 'maybe' }), 'GATEHOUSE_NO_DEMO');
  });

  it('oauth.strictScope defaults to every supported scope, takes known scopes (mcp included) and refuses others naming the setting', () => {
    assert.equal(loadConfig({}, {}).oauth.strictScope, 'mcp:read mcp:write');
    assert.equal(loadConfig({ config: configFile('strict.yaml', 'oauth:\n  registrationPolicy: strict\n  strictScope: mcp\n') }, {}).oauth.strictScope, 'mcp');
    assert.equal(loadConfig({ oauth: { strictScope: ' mcp:read  mcp:read ' } }, {}).oauth.strictScope, 'mcp:read');
    assertRefused(() => loadConfig({ oauth: { strictScope: 'mcp admin' } }, {}), 'oauth.strictScope', 'mcp:read, mcp:write, mcp');
    assertRefused(() => loadConfig({ oauth: { strictScope: '  ' } }, {}), 'oauth.strictScope');
  });

  it('an idle session timeout longer than the absolute one is refused', () => {
    const file = configFile('sessions.yaml', 'sessions:\n  idleTimeoutSeconds: 100\n  absoluteTimeoutSeconds: 50\n');
    assertRefused(() => loadConfig({ config: file }, {}), 'sessions.idleTimeoutSeconds');
  });
});

describe('every mistake at once, each named by its source', () => {
  it('a file, a variable and a flag with mistakes are all reported, each as the place it came from', () => {
    const file = configFile('many.yaml', 'port: eighty\nprot: 1\noauth:\n  accessTokenTtlSeconds: -5\n');
    assert.throws(
      () => loadConfig({ config: file, publicUrl: 'ftp://x' }, { GATEHOUSE_BODY_LIMIT_BYTES: 'lots', GATEHOUSE_NO_DEMO: 'maybe' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const settings = error.problems.map((p) => p.setting).sort();
        assert.deepEqual(settings, [
          '--public-url',
          'GATEHOUSE_BODY_LIMIT_BYTES',
          'GATEHOUSE_NO_DEMO',
          `${file}: oauth.accessTokenTtlSeconds`,
          `${file}: port`,
          `${file}: prot`,
        ].sort());
        assert.match(error.message, /^6 problems in the configuration:\n/);
        assert.equal(error.message.split('\n').length, 7);
        return true;
      },
    );
  });

  it('a value from the file is named as the file\'s key, not as a flag or variable', () => {
    const file = configFile('port.yaml', 'port: eighty\n');
    assert.throws(() => loadConfig({ config: file }, {}), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message.startsWith(`${file}: port: `), true, error.message);
      assert.doesNotMatch(error.message, /--port|GATEHOUSE_PORT/);
      return true;
    });
  });

  it('cross-setting checks and the upstream checks handed in are reported with the rest', () => {
    const file = configFile('cross.yaml', 'sessions:\n  idleTimeoutSeconds: 100\n  absoluteTimeoutSeconds: 50\noauth:\n  refreshTokenIdleSeconds: 100\n  refreshTokenAbsoluteSeconds: 50\nupstreams:\n  - { name: x }\n');
    const upstreams = (raw: readonly Record<string, unknown>[]) => raw.map((_, index) => ({ setting: `upstreams[${index}].connection_type`, problem: 'is required', fix: 'Add it' }));
    assert.throws(() => loadConfig({ config: file }, {}, { upstreams }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.map((p) => p.setting).sort(), [`${file}: oauth.refreshTokenIdleSeconds`, `${file}: sessions.idleTimeoutSeconds`, `${file}: upstreams[0].connection_type`].sort());
      return true;
    });
  });
});

describe('settings without a flag', () => {
  it('an invalid environment-only setting is named by its variable, not a flag that does not exist', () => {
    assert.throws(
      () => loadConfig({}, { GATEHOUSE_BODY_LIMIT_BYTES: 'lots' }),
      (error: unknown) => error instanceof ConfigError && error.setting.startsWith('GATEHOUSE_BODY_LIMIT_BYTES') && !error.setting.includes('--'),
    );
  });
});
