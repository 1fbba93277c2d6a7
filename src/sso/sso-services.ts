import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/index.js';
import { idJagVerifier, type IdJagVerifier } from './id-jag.js';
import { identityTokens, type IdentityTokens } from './identity-tokens.js';
import { relyingParty, type RelyingParty } from './relying-party.js';
import { upstreamTokenExchange, type UpstreamTokenExchange } from './upstream-token-exchange.js';

/** Company identity, built once at wiring: the relying party of each configured IdP, and what builds on them. */
export interface SsoServices {
  /** By provider id; each keeps its IdP's discovery document. */
  parties: ReadonlyMap<string, RelyingParty>;
  /** ID-JAG assertions of the providers trusted for them. */
  idJag: IdJagVerifier;
  /** Each SSO user's tokens at their IdP (sealed), kept at sign-in. */
  identityTokens: IdentityTokens;
  /** Tokens of `token_exchange` upstreams, exchanged at the IdP for each user. */
  tokenExchange: UpstreamTokenExchange;
}

export function ssoServices(
  config: Pick<Config, 'sso' | 'publicUrl' | 'allowPrivateNetworks'>,
  deps: { store: Pick<Store, 'users' | 'idJagAssertions' | 'ssoIdentityTokens'>; encryptionKey: Buffer; audit: AuditLog; clock?: Clock },
): SsoServices {
  const { store, clock = Date.now } = deps;
  const http = { allowPrivateNetworks: config.allowPrivateNetworks };
  const parties = new Map(config.sso.providers.map((provider) => [provider.id, relyingParty(provider, { publicUrl: config.publicUrl, http }, clock)]));
  const tokens = identityTokens({ store: store.ssoIdentityTokens, encryptionKey: deps.encryptionKey }, clock);
  return {
    parties,
    idJag: idJagVerifier({ parties: parties.values(), http, replay: store.idJagAssertions, users: store.users }, clock),
    identityTokens: tokens,
    tokenExchange: upstreamTokenExchange({ parties, identityTokens: tokens, store: store.ssoIdentityTokens, audit: deps.audit, publicUrl: config.publicUrl }, clock),
  };
}
