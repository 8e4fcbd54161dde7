/**
 * `Content-Type` read strictly (RFC 9110 media type): one value, a type/subtype of tokens, and
 * parameters given once each. Anything looser (two values joined by a comma, a parameter repeated,
 * a stray character) has no single meaning and is refused by the caller.
 */

/** A parsed media type: lower-case `type/subtype` and parameters with lower-case names. */
export interface MediaType {
  readonly essence: string;
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PARAM = /^[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=("(?:[^"\\\r\n]|\\[\t\x20-\x7e])*"|[!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*$/;

/** Splits on `;` outside quoted strings. */
export function splitParams(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted && char === "\\") {
      current += char + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === ";" && !quoted) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

const unquote = (value: string): string => (value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, "$1") : value);

/** Parses a `Content-Type` value; null when it is not exactly one well-formed media type. */
export function parseMediaType(header: string): MediaType | null {
  const [head = "", ...rest] = splitParams(header);
  const essence = head.trim().toLowerCase();
  const slash = essence.indexOf("/");
  if (slash <= 0 || !TOKEN.test(essence.slice(0, slash)) || !TOKEN.test(essence.slice(slash + 1))) return null;
  const params = new Map<string, string>();
  for (const part of rest) {
    const match = PARAM.exec(part);
    if (!match) return null;
    const name = match[1]!.toLowerCase();
    if (params.has(name)) return null;
    params.set(name, unquote(match[2]!));
  }
  return { essence, params };
}

/** Whether a `charset` parameter, if any, names UTF-8 (the only charset the gateway reads). */
export const isUtf8Charset = (charset: string | undefined): boolean =>
  charset === undefined || ["utf-8", "utf8"].includes(charset.toLowerCase());
