import type { Config } from '../config.js';
import type { Store } from '../store/index.js';
import { idJagVerifier, type IdJagVerifier } from './id-jag.js';
import { relyingParty, type RelyingParty } from './relying-party.js';

/** Company identity, built once at wiring: the relying party of each configured IdP, and what builds on them. */
export interface SsoServices {
  /** By provider id; each keeps its IdP's discovery document. */
  parties: ReadonlyMap<string, RelyingParty>;
  /** ID-JAG assertions of the providers trusted for them. */
  idJag: IdJagVerifier;
}

export function ssoServices(config: Pick<Config, 'sso' | 'publicUrl' | 'allowPrivateNetworks'>, store: Pick<Store, 'users' | 'idJagAssertions'>): SsoServices {
  const http = { allowPrivateNetworks: config.allowPrivateNetworks };
  const parties = new Map(config.sso.providers.map((provider) => [provider.id, relyingParty(provider, { publicUrl: config.publicUrl, http })]));
  return {
    parties,
    idJag: idJagVerifier({ parties: parties.values(), http, replay: store.idJagAssertions, users: store.users }),
  };
}
