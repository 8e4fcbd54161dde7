/**
 * Credentials of a login attempt, wherever they came from (a form or JSON body, an Authorization:
 * Basic header), as the gateway read them, and how to forward them in the gateway's canonical form.
 */
import type { CanonicalCredentials } from "../proxy";

/** Read credentials, or why the request is refused before anything is counted. */
export type Credentials =
  | {
      readonly ok: true;
      /** The username as sent; null when the attempt carried none. */
      readonly username: string | null;
      /** The request change that carries `canonical` (the stripped, NFKC username) in place of the sent one. */
      readonly forward: (canonical: string | null) => CanonicalCredentials;
    }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string; readonly aborted?: true };
