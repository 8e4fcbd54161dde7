/**
 * Reads a login attempt's body once (capped), finds the username in it, and keeps the exact bytes so
 * they can be forwarded unchanged. Anything the gateway cannot read the way the origin would is
 * refused with a 4xx here, because an unread username is a username nobody counts.
 */

/** What a login request carried, or why it is refused before counting. */
export type LoginRequestBody =
  | { readonly ok: true; readonly body: ArrayBuffer | null; readonly username: string | null }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string };

const refuse = (status: 400 | 413 | 415, message: string): LoginRequestBody => ({ ok: false, status, message });

async function readCapped(request: Request, maxBytes: number): Promise<ArrayBuffer | "too-large"> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return "too-large";
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (request.body) {
    const reader = request.body.getReader();
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
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes.buffer;
}

function single(values: readonly unknown[], field: string): LoginRequestBody | string | null {
  if (values.length > 1) return refuse(400, `the "${field}" field is given more than once`);
  const [value] = values;
  if (value === undefined) return null;
  if (typeof value !== "string") return refuse(400, `the "${field}" field must be text`);
  return value;
}

async function usernameFrom(body: ArrayBuffer, contentType: string, field: string): Promise<LoginRequestBody | string | null> {
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  if (mediaType === "application/x-www-form-urlencoded") {
    return single(new URLSearchParams(new TextDecoder().decode(body)).getAll(field), field);
  }
  if (mediaType === "multipart/form-data") {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { "content-type": contentType } }).formData();
    } catch {
      return refuse(400, "the multipart body is malformed");
    }
    return single(form.getAll(field), field);
  }
  if (mediaType === "application/json" || mediaType.endsWith("+json")) {
    let data: unknown;
    try {
      data = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
    } catch {
      return refuse(400, "the JSON body is malformed");
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) return refuse(400, "the JSON body must be an object");
    const value = (data as Record<string, unknown>)[field];
    if (value === undefined || value === null) return null;
    if (typeof value === "number") return String(value);
    return typeof value === "string" ? value : refuse(400, `the "${field}" field must be text`);
  }
  return refuse(415, "a login must be sent as a form (urlencoded or multipart) or as JSON");
}

/**
 * Reads the body of a login attempt and the username in `field`.
 * An empty body counts as an attempt without a username; a body in another media type is refused (415).
 */
export async function readLoginRequest(request: Request, field: string, maxBytes: number): Promise<LoginRequestBody> {
  const body = await readCapped(request, maxBytes);
  if (body === "too-large") return refuse(413, `a login request body may be at most ${maxBytes} bytes`);
  if (body.byteLength === 0) return { ok: true, body: null, username: null };
  const found = await usernameFrom(body, request.headers.get("content-type") ?? "", field);
  if (found !== null && typeof found === "object") return found;
  return { ok: true, body, username: found };
}
