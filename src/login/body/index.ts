/**
 * One reading of a login request, and the origin gets that reading.
 *
 * The body is read once (capped), parsed strictly in the type the route declares, and re-encoded
 * canonically: UTF-8 urlencoded, multipart rebuilt under the gateway's own boundary, or JSON
 * re-serialised, with a matching Content-Type (the runtime sets Content-Length). The username the
 * gateway counted is the only one the origin can read. What has no single meaning is refused with a
 * 4xx instead of guessed at; see the README's "Login parsing contract".
 */
import { isLookalikeName } from "../../lockout/username";
import type { ReplacementBody } from "../../proxy";
import type { Credentials } from "../credentials";
import type { BodyKind } from "../routes";
import { parseForm, writeForm } from "./form";
import { type JsonValue, parseJsonObject, writeJsonObject } from "./json";
import { isUtf8Charset, parseMediaType } from "./media";
import { type Part, parseMultipart, writeMultipart } from "./multipart";
import { BodyRefusal, type TextField, malformed } from "./refusal";

/** What the gateway forwards in place of the client's body. */
export type ForwardBody = ReplacementBody;

/** A login body as the gateway read it; `encode` writes it with the username as the gateway canonicalised it. */
export type LoginBody =
  | { readonly ok: true; readonly username: string | null; readonly encode: (username: string | null) => ForwardBody }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string; readonly aborted?: true };

const MEDIA_TYPES: Record<BodyKind, string> = {
  form: "application/x-www-form-urlencoded",
  multipart: "multipart/form-data",
  json: "application/json",
};

async function readCapped(request: Request, maxBytes: number): Promise<Uint8Array | "too-large" | "aborted"> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return "too-large";
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        return "too-large";
      }
      chunks.push(value);
    }
  } catch {
    return "aborted";
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function checkNames(names: Iterable<string>, field: string): void {
  for (const name of names) {
    if (isLookalikeName(name, field)) throw malformed(`the field "${name}" is not exactly "${field}"; send the username as "${field}" only`);
  }
}

function onlyOne<T>(found: readonly T[], field: string): T | undefined {
  if (found.length > 1) throw malformed(`the "${field}" field is given more than once`);
  return found[0];
}

function readForm(bytes: Uint8Array, field: string): LoginBody {
  const text = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  if (text.startsWith("{") || text.startsWith("[")) throw new BodyRefusal(415, "the body is JSON but its Content-Type says it is a form");
  const fields = parseForm(bytes);
  checkNames(fields.map((f) => f.name), field);
  const username = onlyOne(fields.filter((f) => f.name === field), field)?.value ?? null;
  return {
    ok: true,
    username,
    encode: (canonical) => ({
      bytes: writeForm(fields.map((f): TextField => (f.name === field && canonical !== null ? { name: field, value: canonical } : f))),
      contentType: `${MEDIA_TYPES.form}; charset=utf-8`,
    }),
  };
}

function readMultipart(bytes: Uint8Array, boundary: string | undefined, field: string): LoginBody {
  const parts = parseMultipart(bytes, boundary);
  checkNames(parts.map((p) => p.name), field);
  const part = onlyOne(parts.filter((p) => p.name === field), field);
  if (part?.kind === "file") throw malformed(`the "${field}" field must be text, not a file`);
  return {
    ok: true,
    username: part?.value ?? null,
    encode: (canonical) => {
      const written = writeMultipart(parts.map((p): Part => (p.name === field && canonical !== null ? { kind: "text", name: field, value: canonical } : p)));
      return { bytes: written.bytes, contentType: `${MEDIA_TYPES.multipart}; boundary=${written.boundary}` };
    },
  };
}

function readJson(bytes: Uint8Array, essence: string, field: string): LoginBody {
  const members = parseJsonObject(bytes);
  checkNames(members.keys(), field);
  const value = members.get(field);
  if (value !== undefined && value.kind !== "string" && !(value.kind === "literal" && value.literal === "null")) {
    throw malformed(`the "${field}" field must be text`);
  }
  return {
    ok: true,
    username: value?.kind === "string" ? value.value : null,
    encode: (canonical) => {
      const written = new Map<string, JsonValue>(members);
      if (canonical !== null && value?.kind === "string") written.set(field, { kind: "string", value: canonical });
      return { bytes: writeJsonObject(written), contentType: essence };
    },
  };
}

function kindOf(essence: string): BodyKind | null {
  if (essence === MEDIA_TYPES.form) return "form";
  if (essence === MEDIA_TYPES.multipart) return "multipart";
  if (essence === MEDIA_TYPES.json || essence.endsWith("+json")) return "json";
  return null;
}

function parse(bytes: Uint8Array, headers: Headers, accepted: readonly BodyKind[], field: string): LoginBody {
  const wanted = accepted.map((kind) => MEDIA_TYPES[kind]).join(" or ");
  const encoding = headers.get("content-encoding");
  if (encoding !== null && encoding.trim().toLowerCase() !== "identity") throw new BodyRefusal(415, "a login body must not be compressed (Content-Encoding)");
  const media = parseMediaType(headers.get("content-type") ?? "");
  if (media === null) throw new BodyRefusal(415, `a login body needs one Content-Type: ${wanted}`);
  const kind = kindOf(media.essence);
  if (kind === null || !accepted.includes(kind)) throw new BodyRefusal(415, `this login route accepts ${wanted}, not ${media.essence}`);
  if (!isUtf8Charset(media.params.get("charset"))) throw new BodyRefusal(415, "a login body must be UTF-8 (charset=utf-8 or none)");
  if (kind === "form") return readForm(bytes, field);
  if (kind === "multipart") return readMultipart(bytes, media.params.get("boundary"), field);
  return readJson(bytes, media.essence, field);
}

/** The body reading as credentials: the canonical body replaces the client's. */
export const bodyCredentials = (body: LoginBody): Credentials =>
  body.ok ? { ok: true, username: body.username, forward: (canonical) => ({ body: body.encode(canonical) }) } : body;

/**
 * Reads a login request's body in one of the route's body types and finds the username in `field`.
 * An empty body is an attempt without a username and is forwarded empty.
 */
export async function readLoginBody(request: Request, accepted: readonly BodyKind[], field: string, maxBytes: number): Promise<LoginBody> {
  const bytes = await readCapped(request, maxBytes);
  if (bytes === "too-large") return { ok: false, status: 413, message: `a login request body may be at most ${maxBytes} bytes` };
  if (bytes === "aborted") return { ok: false, status: 400, message: "the request body was not received in full", aborted: true };
  if (bytes.byteLength === 0) return { ok: true, username: null, encode: () => ({ bytes: null, contentType: null }) };
  try {
    return parse(bytes, request.headers, accepted, field);
  } catch (error) {
    if (!(error instanceof BodyRefusal)) throw error;
    return { ok: false, status: error.status, message: error.message };
  }
}
