/**
 * Usernames as the origin's framework reads them, and the one form the gateway counts them under.
 *
 * Django's `AuthenticationForm` strips with Python's `str.strip()` and then applies NFKC; a plain view
 * passes the posted text to `authenticate()` untouched. The gateway forwards the stripped, NFKC form
 * (so every view checks the name that was counted) and counts it case-folded unless
 * AXES_USERNAME_CASE_SENSITIVE is on.
 */

/**
 * Python's whitespace (`str.isspace()`, what `str.strip()` removes). JavaScript's `trim()` differs: it
 * keeps `\x1c`-`\x1f` and `\x85`, and removes U+FEFF, which Python keeps.
 */
const PYTHON_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
const PYTHON_STRIP = new RegExp(`^[${PYTHON_SPACE}]+|[${PYTHON_SPACE}]+$`, "g");
const PYTHON_SPACE_AT_EDGE = new RegExp(`^[${PYTHON_SPACE}]|[${PYTHON_SPACE}]$`);

/** `str.strip()` of Python. @example pythonStrip("alice\x1f") // "alice" */
export const pythonStrip = (text: string): string => text.replace(PYTHON_STRIP, "");

/** Whether Python's `strip()` would change the text. */
export const hasPythonSpaceAtEdge = (text: string): boolean => PYTHON_SPACE_AT_EDGE.test(text);

/**
 * The username as the gateway forwards it: Python-stripped, then NFKC (Django's `UsernameField`).
 * @example canonicalUsername(" ＡＬＩＣＥ\u3000") // "ALICE"
 */
export const canonicalUsername = (raw: string): string => pythonStrip(raw).normalize("NFKC");

/**
 * Full case folding, approximated by upper-then-lower case and NFKC again (Unicode's caseless match):
 * `ß` and `ẞ` fold to `ss`, `ς` to `σ`; it also folds `ı` and `ſ` into `i` and `s`, which Python's
 * `casefold()` keeps apart but case-insensitive database lookups (`UPPER()` on Postgres) do not, so
 * one budget covers every spelling such a lookup would accept.
 */
const caseFold = (text: string): string => text.toUpperCase().toLowerCase().normalize("NFKC");

/**
 * The name a login attempt is counted under: the canonical username, case-folded unless the site's
 * usernames are case-sensitive; "" when the attempt carried none.
 * @example countedUsername(" Alice\x1f", false) // "alice"
 */
export function countedUsername(raw: string | null, caseSensitive: boolean): string {
  if (raw === null) return "";
  const canonical = canonicalUsername(raw);
  return caseSensitive ? canonical : caseFold(canonical);
}

/**
 * Whether `name` is another spelling of `field` (case, surrounding whitespace, compatibility
 * characters) that some reader might take for it.
 * @example isLookalikeName(" Username", "username") // true
 */
export const isLookalikeName = (name: string, field: string): boolean =>
  name !== field && countedUsername(name, false) === countedUsername(field, false);
