import { z } from 'zod';

/**
 * Company sign-in (OpenID Connect): the `sso` block of the config file and its environment twins for a single
 * provider. A leaf like config.ts; the relying party itself lives in sso/.
 */

const groupList = z.array(z.string().trim().min(1).max(256)).max(1000);

/** A list from the environment: comma- or space-separated. */
const listFromText = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** A yes/no setting as a file (boolean) or the environment (text) gives it. */
export const booleanish = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes'),
]);

export const ssoProviderSettings = z
  .object({
    /** In URLs (`/login/oidc/{id}`) and in each user's `source` (`sso:{id}`): stable, short, lowercase. */
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 lowercase letters, digits, _ or - (e.g. okta)'),
    /** Shown on the sign-in button. */
    name: z.string().trim().min(1).max(100),
    /** The IdP's issuer identifier, exactly as its discovery document states it. */
    issuer: z.url({ protocol: /^https?$/ }).refine((value) => !new URL(value).search && !new URL(value).hash, 'must have no query or fragment'),
    client_id: z.string().min(1).max(512),
    client_secret: z.string().min(1).max(4096),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).min(1).default(['openid', 'profile', 'email']).refine((scopes) => scopes.includes('openid'), 'must include openid'),
    groups_claim: z.string().min(1).max(256).default('groups'),
    /** Members of any of these groups are admins, and stop being admins when the IdP stops saying so. */
    admin_groups: groupList.default([]),
    /** When set, only members of one of these groups may sign in. */
    allowed_groups: groupList.optional(),
    /** The claim the username comes from; default `preferred_username`, then `email`. */
    username_claim: z.string().min(1).max(256).optional(),
    /**
     * Accept this IdP's Identity Assertion JWT Authorization Grants (ID-JAG, MCP Enterprise-Managed Authorization) at
     * /oauth/token: its people then get Gatehouse tokens without a browser round-trip.
     */
    trust_id_jag: booleanish.default(false),
  })
  .strict();

export type SsoProviderSettings = z.infer<typeof ssoProviderSettings>;

export const ssoSettings = z
  .object({
    providers: z
      .array(ssoProviderSettings)
      .max(20)
      .default([])
      .refine((providers) => new Set(providers.map((p) => p.id)).size === providers.length, 'provider ids must be unique'),
    /** false hides the password form: people sign in through a provider (local admins keep the CLI and the API). */
    password_login: booleanish.default(true),
  })
  .strict()
  .prefault({});

export type SsoSettings = z.infer<typeof ssoSettings>;

/** The environment twins of one provider's settings; GATEHOUSE_SSO_ISSUER declares it. */
const providerEnvironmentNames: Record<string, keyof SsoProviderSettings> = {
  GATEHOUSE_SSO_ID: 'id',
  GATEHOUSE_SSO_NAME: 'name',
  GATEHOUSE_SSO_ISSUER: 'issuer',
  GATEHOUSE_SSO_CLIENT_ID: 'client_id',
  GATEHOUSE_SSO_CLIENT_SECRET: 'client_secret',
  GATEHOUSE_SSO_SCOPES: 'scopes',
  GATEHOUSE_SSO_GROUPS_CLAIM: 'groups_claim',
  GATEHOUSE_SSO_ADMIN_GROUPS: 'admin_groups',
  GATEHOUSE_SSO_ALLOWED_GROUPS: 'allowed_groups',
  GATEHOUSE_SSO_USERNAME_CLAIM: 'username_claim',
  GATEHOUSE_SSO_TRUST_ID_JAG: 'trust_id_jag',
};

const listSettings = new Set<string>(['scopes', 'admin_groups', 'allowed_groups']);

/**
 * The `sso` values the environment gives: GATEHOUSE_SSO_ISSUER declares one provider (id `sso` and name
 * `Company sign-in` unless given) that replaces the config file's list; GATEHOUSE_SSO_PASSWORD_LOGIN stands alone.
 */
export function ssoFromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  const values: Record<string, unknown> = {};
  if (env.GATEHOUSE_SSO_ISSUER) {
    const provider: Record<string, unknown> = { id: 'sso', name: 'Company sign-in' };
    for (const [name, key] of Object.entries(providerEnvironmentNames)) {
      const value = env[name];
      if (value !== undefined && value !== '') provider[key] = listSettings.has(key) ? listFromText(value) : value;
    }
    values.providers = [provider];
  }
  if (env.GATEHOUSE_SSO_PASSWORD_LOGIN) values.password_login = env.GATEHOUSE_SSO_PASSWORD_LOGIN;
  return Object.keys(values).length > 0 ? values : undefined;
}
