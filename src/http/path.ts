/**
 * The canonical form of a URL path, the one every path decision of the gateway is made on (login
 * routes, logout routes, rate-limit policies, the admin API): percent-decoded, backslashes as
 * slashes, slashes merged, dot segments resolved, lower case, no trailing slash. `/Accounts//%6Cogin/`
 * and `/accounts/login` are one path, as they are one view for a lenient origin.
 */
import { percentDecode } from "./text";

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
