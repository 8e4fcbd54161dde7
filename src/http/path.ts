/**
 * The canonical form of a URL path, the one every path decision of the gateway is made on (login
 * routes, logout routes, rate-limit policies, the admin API): percent-decoded, backslashes as
 * slashes, slashes merged, dot segments resolved, lower case, no trailing slash. `/Accounts//%6Cogin/`
 * and `/accounts/login` are one path, as they are one view for a lenient origin.
 */
import { decodeUtf8LikePython } from "./text";

/**
 * Decodes each valid `%XX` escape and leaves malformed ones as they are, as a WSGI server does
 * (Python's `unquote`): one bad escape must not keep the rest of the path encoded, or
 * `/%5F_gateway/%zz` would not be the admin path that the origin reads.
 */
function percentDecode(path: string): string {
  if (!path.includes("%")) return path;
  return path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return decodeUtf8LikePython(bytes);
  });
}

/**
 * Reduces a URL path to the form both the gateway and a lenient origin would route on.
 * @example canonicalPath("/Accounts//x/../%6Cogin/") // "/accounts/login"
 */
export function canonicalPath(pathname: string): string {
  const segments: string[] = [];
  for (const segment of percentDecode(pathname).replace(/\\/g, "/").split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment.toLowerCase());
  }
  return `/${segments.join("/")}`;
}

/**
 * Whether a canonical path is `prefix` itself or under it (`prefix` canonical too).
 * @example isUnder("/__gateway/health", "/__gateway") // true
 */
export function isUnder(path: string, prefix: string): boolean {
  return prefix === "/" || path === prefix || path.startsWith(`${prefix}/`);
}
