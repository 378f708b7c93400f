/**
 * Which upstream a /proxy/{provider} call goes to (src/providers.ts resolves the id: an account's
 * custom provider, else a built-in with UPSTREAM_<ID>_URL applied), and where its credential comes
 * from: the account's stored key (sealed at rest), or the client's own key (bring-your-own-key).
 */
import type { AccountSettings } from "../account-settings";
import { type Config, type Env, sealingSecret } from "../config";
import { nowMs } from "../lib/clock";
import { decryptSecret } from "../lib/crypto";
import { GatewayError } from "../lib/errors";
import { IsolateCache } from "../lib/isolate-cache";
import { BUILTIN_PROVIDERS, type CustomProvider, type ResolvedProvider, resolveProvider } from "../providers";
import type { UpstreamCredential } from "./forward";

export interface Upstream extends ResolvedProvider {
  /** The provider key to send, or null for bring-your-own-key. */
  credential(byok: boolean): Promise<UpstreamCredential>;
}

/** The account's providers that re-point or add a base URL, in the registry's terms. */
export function customProviders(settings: AccountSettings | null): CustomProvider[] {
  const out: CustomProvider[] = [];
  for (const [id, p] of Object.entries(settings?.providers ?? {})) {
    if (!p.baseUrl) continue;
    const format = p.format ?? (Object.hasOwn(BUILTIN_PROVIDERS, id) ? BUILTIN_PROVIDERS[id]!.format : "openai");
    out.push({ id, baseUrl: p.baseUrl, format });
  }
  return out;
}

/** null when the id is neither built in nor registered by the account. Settings null = before auth. */
/** Provider keys, decrypted: the sealed value changes whenever the key does, so no TTL is needed. */
const credentials = new IsolateCache<string>(Number.POSITIVE_INFINITY, 1000);

export function resolveUpstream(
  providerId: string,
  env: Env,
  config: Config,
  settings: AccountSettings | null,
): Upstream | null {
  const provider = resolveProvider(providerId, { env, custom: customProviders(settings) });
  if (!provider) return null;
  const sealed = settings?.providers[providerId]?.apiKeySealed;
  return {
    ...provider,
    credential: async (byok) => {
      if (byok) return { apiKey: null, authStyle: provider.authStyle };
      if (!sealed) {
        throw new GatewayError(
          "authentication",
          `This account has no stored ${providerId} key. Store one with PUT /admin/v1/accounts/{account}/providers/${providerId}, or send your own provider key with the Tollgate key in x-tollgate-key.`,
        );
      }
      // Decrypted once per isolate and sealed value (AES-GCM per call was ~3 % of a call's CPU).
      const secret = sealingSecret(config);
      const apiKey = await credentials.get(`${secret.length}:${secret}:${sealed}`, nowMs(), () =>
        decryptSecret(sealed, secret),
      );
      return { apiKey, authStyle: provider.authStyle };
    },
  };
}
