/**
 * The provider registry, as data. A provider is an entry here (base URL, auth style, wire format,
 * quirks), not a folder of code: the code is per wire format (src/wire/openai, src/wire/anthropic)
 * and reads the quirks. Adding an OpenAI-compatible provider = one entry + one fixture.
 *
 * Quirks follow docs/wire-formats.md (cited as §n / [S#]).
 */

export type WireFormat = "openai" | "anthropic";
export type AuthStyle = "bearer" | "x-api-key";

export interface ProviderQuirks {
  /**
   * Output the provider leaves out of completion_tokens but counts in total_tokens: bill
   * max(completion, total − prompt) as output, the difference as reasoning (§1.4).
   * Gemini OpenAI-compat: thoughts only in total_tokens [S12]; xAI: reasoning outside completion [S27].
   */
  outputFromTotal?: boolean;
  /**
   * Usage is repeated, cumulatively, on every stream chunk (Gemini-compat [S13], Perplexity [S25]).
   * The meter never adds chunks up anyway (§1.1: last non-null value per field wins); this flag
   * documents the provider and tells the meter that a cut-off stream's last usage is a partial count.
   */
  cumulativeStreamUsage?: boolean;
  /**
   * Whether the gateway adds `stream_options.include_usage: true` to an OpenAI-format stream the
   * client did not opt in (and strips the extra usage-only chunk from the client's copy).
   * "inject": needed or harmless (OpenAI [S2], DeepSeek §7, Groq §9, xAI §12, Fireworks §13,
   * OpenRouter §14 all say "send it"). "never": usage arrives without it and the provider is not
   * known to accept the option (Mistral §8, Together §10, Perplexity §11).
   */
  includeUsage?: "inject" | "never";
  /**
   * Perplexity Sonar/Deep Research: top-level `usage.reasoning_tokens` and `usage.citation_tokens`
   * are billed in addition to completion/prompt tokens (§11 [S24][S26]); `cost.total_cost` is the
   * authoritative charge.
   */
  separateReasoningAndCitations?: boolean;
}

export interface ProviderEntry {
  /** Base URL including the version segment the provider's SDK expects; no trailing slash. */
  baseUrl: string;
  authStyle: AuthStyle;
  format: WireFormat;
  quirks: ProviderQuirks;
}

export const BUILTIN_PROVIDER_IDS = [
  "openai",
  "anthropic",
  "deepseek",
  "gemini",
  "mistral",
  "groq",
  "together",
  "perplexity",
  "xai",
  "fireworks",
  "openrouter",
] as const;
export type BuiltinProviderId = (typeof BUILTIN_PROVIDER_IDS)[number];

const inject = { includeUsage: "inject" } as const satisfies ProviderQuirks;

export const BUILTIN_PROVIDERS: Readonly<Record<string, ProviderEntry>> = Object.freeze({
  openai: { baseUrl: "https://api.openai.com/v1", authStyle: "bearer", format: "openai", quirks: inject },
  anthropic: { baseUrl: "https://api.anthropic.com", authStyle: "x-api-key", format: "anthropic", quirks: {} },
  deepseek: { baseUrl: "https://api.deepseek.com", authStyle: "bearer", format: "openai", quirks: inject },
  gemini: {
    baseUrl: "https://generativelanguage.googleapis.com/v1beta/openai",
    authStyle: "bearer",
    format: "openai",
    // Opt-in is unverified (§0); Google's compat layer accepts stream_options, so ask for it.
    quirks: { includeUsage: "inject", outputFromTotal: true, cumulativeStreamUsage: true },
  },
  mistral: {
    baseUrl: "https://api.mistral.ai/v1",
    authStyle: "bearer",
    format: "openai",
    quirks: { includeUsage: "never" },
  },
  groq: { baseUrl: "https://api.groq.com/openai/v1", authStyle: "bearer", format: "openai", quirks: inject },
  together: {
    baseUrl: "https://api.together.xyz/v1",
    authStyle: "bearer",
    format: "openai",
    quirks: { includeUsage: "never" },
  },
  perplexity: {
    baseUrl: "https://api.perplexity.ai",
    authStyle: "bearer",
    format: "openai",
    quirks: { includeUsage: "never", cumulativeStreamUsage: true, separateReasoningAndCitations: true },
  },
  xai: {
    baseUrl: "https://api.x.ai/v1",
    authStyle: "bearer",
    format: "openai",
    quirks: { includeUsage: "inject", outputFromTotal: true },
  },
  fireworks: {
    baseUrl: "https://api.fireworks.ai/inference/v1",
    authStyle: "bearer",
    format: "openai",
    quirks: inject,
  },
  openrouter: { baseUrl: "https://openrouter.ai/api/v1", authStyle: "bearer", format: "openai", quirks: inject },
} satisfies Record<BuiltinProviderId, ProviderEntry>);

/** An account-registered provider (PUT /admin/v1/accounts/{account}/providers/{id}). */
export interface CustomProvider {
  id: string;
  baseUrl: string;
  format: WireFormat;
}

export interface ResolvedProvider extends ProviderEntry {
  id: string;
  builtin: boolean;
}

/** Quirks for a provider we know nothing about but its format: ask OpenAI-compatible servers for usage. */
export function defaultQuirks(format: WireFormat): ProviderQuirks {
  return format === "openai" ? { includeUsage: "inject" } : {};
}

/** `UPSTREAM_<ID>_URL`: the id upper-cased, `-` written as `_` (env names cannot hold `-`). */
export function upstreamEnvName(id: string): string {
  return `UPSTREAM_${id.toUpperCase().replace(/-/g, "_")}_URL`;
}

/**
 * Resolves a provider id. Order: an account's custom provider with that id (it may also re-point a
 * built-in id at its own base URL), then the built-in entry with the deployment-wide
 * `UPSTREAM_<ID>_URL` override applied. null = unknown id.
 *
 * `env` is the Worker's env (or any name → value map); `custom` the account's providers as data.
 */
export function resolveProvider(
  id: string,
  opts: {
    env?: Readonly<Record<string, unknown>>;
    custom?: readonly CustomProvider[] | Readonly<Record<string, Omit<CustomProvider, "id">>>;
  } = {},
): ResolvedProvider | null {
  const builtin = Object.hasOwn(BUILTIN_PROVIDERS, id) ? BUILTIN_PROVIDERS[id] : undefined;
  const custom = findCustom(id, opts.custom);
  if (custom) {
    const format = custom.format;
    return {
      id,
      baseUrl: trimSlash(custom.baseUrl),
      format,
      authStyle:
        builtin && builtin.format === format ? builtin.authStyle : format === "anthropic" ? "x-api-key" : "bearer",
      quirks: builtin && builtin.format === format ? builtin.quirks : defaultQuirks(format),
      builtin: Boolean(builtin),
    };
  }
  if (!builtin) return null;
  const override = opts.env?.[upstreamEnvName(id)];
  const baseUrl = typeof override === "string" && /^https?:\/\//.test(override) ? trimSlash(override) : builtin.baseUrl;
  return { id, ...builtin, baseUrl, builtin: true };
}

function findCustom(
  id: string,
  custom: readonly CustomProvider[] | Readonly<Record<string, Omit<CustomProvider, "id">>> | undefined,
): Omit<CustomProvider, "id"> | undefined {
  if (!custom) return undefined;
  if (Array.isArray(custom)) return (custom as readonly CustomProvider[]).find((c) => c.id === id);
  const map = custom as Readonly<Record<string, Omit<CustomProvider, "id">>>;
  return Object.hasOwn(map, id) ? map[id] : undefined;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
