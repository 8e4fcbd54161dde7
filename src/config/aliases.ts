/**
 * django-axes' own setting names that people carry over, read as the gateway's names. Setting both
 * spellings to different values is refused: which one was meant cannot be guessed.
 */
import { ConfigError, type RawEnv, readText } from "./read";

/** django-axes name -> the gateway's name. */
export const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  AXES_IP_WHITELIST: "AXES_WHITELIST_IPS",
  AXES_IP_BLACKLIST: "AXES_BLACKLIST_IPS",
});

/**
 * The env with each alias copied to its gateway name. The input is not changed, nor enumerated:
 * the copy inherits from it, so the configuration check still sees exactly which names were read.
 * @throws ConfigError
 */
export function withAliases(env: RawEnv): RawEnv {
  let copy: Record<string, unknown> | undefined;
  for (const [alias, name] of Object.entries(ALIASES)) {
    const aliased = readText(env, alias);
    if (aliased === undefined) continue;
    const own = readText(env, name);
    if (own !== undefined && own !== aliased) {
      throw new ConfigError(alias, `is django-axes' name for ${name}, and both are set to different values: keep only ${name}`, "(unset)");
    }
    copy ??= Object.create(env) as Record<string, unknown>;
    copy[name] = env[alias];
  }
  return copy ?? env;
}
