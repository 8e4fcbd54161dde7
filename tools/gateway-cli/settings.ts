/**
 * Where the CLI talks to and how: read once from the environment (and `--url`), validated, frozen. Errors name the
 * variable and show a valid value; none of them echoes the token.
 */
import { UsageError } from "./args.ts";

/** The admin API endpoint, the bearer token and the per-request timeout. */
export interface Settings {
  /** Base URL without a trailing slash, path prefix kept, e.g. `https://www.example.com`. */
  readonly baseUrl: string;
  /** Admin path prefix with a leading and no trailing slash. @default "/__gateway" */
  readonly prefix: string;
  readonly token: string;
  /** @default 10 */
  readonly timeoutSeconds: number;
}

const DEFAULT_URL = "http://127.0.0.1:8787";
const DEFAULT_PREFIX = "/__gateway";
const DEFAULT_TIMEOUT_SECONDS = 10;

/**
 * Reads the settings; `urlOption` is `--url`, which wins over GATEWAY_URL.
 * @example readSettings(process.env, "https://www.example.com")
 */
export function readSettings(env: NodeJS.ProcessEnv, urlOption?: string): Readonly<Settings> {
  const urlSource = urlOption !== undefined ? "--url" : "GATEWAY_URL";
  const baseUrl = parseBaseUrl(urlOption ?? (env.GATEWAY_URL?.trim() || DEFAULT_URL), urlSource);

  const token = (env.GATEWAY_ADMIN_TOKEN?.trim() || env.ADMIN_TOKEN?.trim()) ?? "";
  if (token === "") {
    throw new UsageError(
      "GATEWAY_ADMIN_TOKEN is not set: the CLI needs the gateway's ADMIN_TOKEN.\n" +
        "  e.g. GATEWAY_ADMIN_TOKEN=... npm run gateway -- health   (ADMIN_TOKEN is accepted too)",
    );
  }
  // A header cannot carry control characters, and fetch's error for one would quote the whole value.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError("GATEWAY_ADMIN_TOKEN holds characters an HTTP header cannot carry (spaces or non-ASCII)");
  }

  const rawPrefix = env.GATEWAY_ADMIN_PREFIX?.trim() || DEFAULT_PREFIX;
  const prefix = `/${rawPrefix.replace(/^\/+|\/+$/g, "")}`;
  if (prefix === "/" || /[?#\s]/.test(prefix)) {
    throw new UsageError(`GATEWAY_ADMIN_PREFIX must be a path, e.g. GATEWAY_ADMIN_PREFIX=${DEFAULT_PREFIX} (got "${rawPrefix}")`);
  }

  const rawTimeout = env.GATEWAY_TIMEOUT_SECONDS?.trim();
  const timeoutSeconds = rawTimeout ? Number(rawTimeout) : DEFAULT_TIMEOUT_SECONDS;
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`GATEWAY_TIMEOUT_SECONDS must be a positive number of seconds, e.g. 10 (got "${rawTimeout}")`);
  }

  return Object.freeze({ baseUrl, prefix, token, timeoutSeconds });
}

function parseBaseUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} must be an http(s) URL, e.g. ${DEFAULT_URL} (got "${redactUserinfo(raw)}")`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${source} must be an http:// or https:// URL, e.g. ${DEFAULT_URL}`);
  }
  if (url.username !== "" || url.password !== "") {
    // fetch refuses URLs with credentials; the admin token is the only credential the API takes.
    throw new UsageError(`${source} must not hold user:password@, e.g. ${DEFAULT_URL}`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError(`${source} must not carry a query or fragment, e.g. ${DEFAULT_URL}`);
  }
  return url.href.replace(/\/+$/, "");
}

/** Drops `user:password@` from a URL-ish string before it is shown. */
export function redactUserinfo(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}
