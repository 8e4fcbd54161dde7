/**
 * Cookie headers read the way Django reads them (`django.http.cookie.parse_cookie`), and the spots
 * where that reading differs from a plain one. The gateway decides on sessions with the origin's own
 * reading: split on `;`, then on the first `=`; name and value stripped of Python's whitespace
 * (`str.strip()`, which also strips \v, \f, \x1c-\x1f, \x85, NBSP and the Unicode spaces); a
 * `"..."` value unescaped as `http.cookies._unquote` does; the last value of a name wins.
 */
import { decodeUtf8LikePython } from "./text";

/** Every character Python's `str.isspace()` accepts, hence what `str.strip()` removes. */
const PYTHON_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PYTHON_STRIP = new RegExp(`^[${PYTHON_SPACE}]+|[${PYTHON_SPACE}]+$`, "g");
/** What HTTP itself calls optional whitespace around a cookie pair (RFC 6265: SP and HTAB). */
const HTTP_STRIP = /^[ \t]+|[ \t]+$/g;
/**
 * RFC 6265's cookie-octets: what every session id a framework issues is made of. A value with a
 * comma, space, quote, backslash or non-ASCII character is read differently by some parser (an
 * RFC 2109 parser splits on commas, others trim or unquote differently), so it is not clean.
 */
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
/** `http.cookies._unquote`: `\ooo` (first digit 0-3) is an octal byte, `\x` is `x`; `.` stops at a newline. */
const PYTHON_ESCAPE = /\\(?:([0-3][0-7][0-7])|([^\n]))/g;

/** Python's `str.strip()` with no argument. */
export const pythonStrip = (text: string): string => text.replace(PYTHON_STRIP, "");

/**
 * Python's `http.cookies._unquote`: a value wrapped in double quotes loses them and its escapes are
 * decoded; any other value is kept as it is.
 * @example pythonUnquote('"\\056ab\\"c"') // '.ab"c'
 */
export function pythonUnquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(PYTHON_ESCAPE, (_, octal: string | undefined, char: string | undefined) =>
    octal !== undefined ? String.fromCharCode(Number.parseInt(octal, 8)) : char!,
  );
}

/**
 * The readings of a header piece the origin may make. A WSGI origin gets header bytes as Latin-1 and
 * Django decodes them again as UTF-8 (`get_str_from_wsgi`), so the bytes C2 A0 are an NBSP to it;
 * both the text as given and that re-decoding are considered.
 */
function readingsOf(piece: string): string[] {
  if (!/[\x80-\xff]/.test(piece) || /[^\x00-\xff]/.test(piece)) return [piece];
  const bytes = Uint8Array.from(piece, (char) => char.charCodeAt(0));
  const decoded = decodeUtf8LikePython(bytes);
  return decoded === piece ? [piece] : [piece, decoded];
}

/** One `;`-separated piece as Django reads it; null when Django skips it (empty name and value). */
function djangoPair(piece: string): { name: string; value: string } | null {
  const at = piece.indexOf("=");
  const name = pythonStrip(at === -1 ? "" : piece.slice(0, at));
  const value = pythonStrip(at === -1 ? piece : piece.slice(at + 1));
  if (name === "" && value === "") return null;
  return { name, value: pythonUnquote(value) };
}

/**
 * The cookies of a header as Django reads them, the last value of a name winning.
 * @example parseCookieLikeDjango('a=1; b="x\\"y"; a=2') // Map { "a" => "2", "b" => 'x"y' }
 */
export function parseCookieLikeDjango(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const piece of header.split(";")) {
    const pair = djangoPair(piece);
    if (pair) cookies.set(pair.name, pair.value);
  }
  return cookies;
}

/** Every spelling of one cookie in a header, and the header without any of them. */
export interface CookieSpellings {
  /** The value of each piece that names the cookie in every reading and reads the same in each (cookie-octets only), in order. */
  readonly values: readonly string[];
  /** Pieces that name the cookie in some reading but not unambiguously (the readings differ). */
  readonly ambiguous: number;
  /** The other pieces, trimmed and joined with "; "; null when none is left. */
  readonly rest: string | null;
}

/**
 * Finds every piece of a Cookie header that Django, or a plain reader (split on `;` and the first
 * `=`, SP/HTAB trimmed, no unquoting), takes for cookie `name`. A piece is unambiguous only when both
 * read the same name and the same value, made of cookie-octets only; `sessionid="\\abc"`,
 * `\x1csessionid=abc`, `sessionid=abc\xa0` or `sessionid=a,sessionid=b` are ambiguous.
 */
export function cookieSpellings(header: string, name: string): CookieSpellings {
  const values: string[] = [];
  const rest: string[] = [];
  let ambiguous = 0;
  for (const piece of header.split(";")) {
    const at = piece.indexOf("=");
    const plainName = at === -1 ? "" : piece.slice(0, at).replace(HTTP_STRIP, "");
    const plainValue = (at === -1 ? piece : piece.slice(at + 1)).replace(HTTP_STRIP, "");
    const django = readingsOf(piece).map(djangoPair);
    const named = plainName === name || django.some((pair) => pair?.name === name);
    if (!named) {
      const kept = piece.replace(HTTP_STRIP, "");
      if (kept !== "") rest.push(kept);
      continue;
    }
    const clean = plainName === name && COOKIE_OCTETS.test(plainValue) && django.every((pair) => pair?.name === name && pair.value === plainValue);
    if (clean) values.push(plainValue);
    else ambiguous += 1;
  }
  return { values, ambiguous, rest: rest.length > 0 ? rest.join("; ") : null };
}
