/**
 * `multipart/form-data`, read strictly and rebuilt. Parsers disagree on the corners of this format
 * (Django decodes `Content-Transfer-Encoding: base64`, strips spaces around field names, keeps the
 * last of repeated part headers and reads parts after the closing delimiter), so the gateway refuses
 * every corner: no preamble, CRLF line ends, only `Content-Disposition` and `Content-Type` part
 * headers, each once, no transfer encodings, `name` and `filename` only, no backslash escapes, and
 * nothing but a final CRLF after the closing delimiter. What it read, it rebuilds under its own
 * boundary, so the origin parses the gateway's reading and nothing else.
 */
import { isUtf8Charset, parseMediaType, splitParams } from "./media";
import { BodyRefusal, type TextField, decodeUtf8, malformed } from "./refusal";

/** A part that carries a file: forwarded byte for byte. */
export interface FilePart {
  readonly name: string;
  readonly filename: string;
  readonly contentType: string | null;
  readonly bytes: Uint8Array;
}

export type Part = ({ readonly kind: "text" } & TextField) | ({ readonly kind: "file" } & FilePart);

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const HEADER_END = encoder.encode("\r\n\r\n");
const DASHES = encoder.encode("--");
/** RFC 2046 boundary characters, 1 to 70 of them, not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const DISPOSITION_PARAM = /^[ \t]*([A-Za-z*]+)=(?:"([^"\\\r\n]*)"|([!#$%&'*+\-.^_`|~0-9A-Za-z]+))[ \t]*$/;

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    if (haystack[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const startsAt = (haystack: Uint8Array, needle: Uint8Array, at: number): boolean => indexOf(haystack.subarray(at, at + needle.length), needle, 0) === 0;

/** The part headers, lower-case names, each given once, only the two a form part may carry. */
function partHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    const name = line.slice(0, Math.max(colon, 0)).toLowerCase();
    if (colon <= 0 || !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) throw malformed("a multipart part has a malformed header line");
    if (name !== "content-disposition" && name !== "content-type") {
      throw malformed(`a multipart part may carry only Content-Disposition and Content-Type, not ${name}`);
    }
    if (headers.has(name)) throw malformed(`a multipart part has more than one ${name} header`);
    headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/** `form-data; name="…"[; filename="…"]`, nothing else. */
function disposition(value: string): { name: string; filename: string | null } {
  const [type = "", ...rest] = splitParams(value);
  if (type.trim().toLowerCase() !== "form-data") throw malformed("a multipart part's Content-Disposition must be form-data");
  const params = new Map<string, string>();
  for (const part of rest) {
    const match = DISPOSITION_PARAM.exec(part);
    if (!match) throw malformed("a multipart part's Content-Disposition has a malformed or escaped parameter");
    const key = match[1]!.toLowerCase();
    if (key !== "name" && key !== "filename") throw malformed(`a multipart part's Content-Disposition may carry only name and filename, not ${key}`);
    if (params.has(key)) throw malformed(`a multipart part's Content-Disposition gives ${key} more than once`);
    params.set(key, match[2] ?? match[3]!);
  }
  const name = params.get("name");
  if (name === undefined || name === "") throw malformed("a multipart part has no field name");
  return { name, filename: params.get("filename") ?? null };
}

function readPart(headerText: string, content: Uint8Array): Part {
  const headers = partHeaders(headerText);
  const { name, filename } = disposition(headers.get("content-disposition") ?? "form-data");
  const contentType = headers.get("content-type") ?? null;
  const media = contentType === null ? null : parseMediaType(contentType);
  if (contentType !== null && media === null) throw malformed(`the multipart part "${name}" has a malformed Content-Type`);
  if (filename !== null) return { kind: "file", name, filename, contentType, bytes: content };
  if (!isUtf8Charset(media?.params.get("charset"))) throw new BodyRefusal(415, `the multipart field "${name}" must be UTF-8`);
  return { kind: "text", name, value: decodeUtf8(content, `the multipart field "${name}"`) };
}

/** The parts of a multipart body under `boundary`, in order. */
export function parseMultipart(bytes: Uint8Array, boundary: string | undefined): Part[] {
  if (boundary === undefined || !BOUNDARY.test(boundary)) throw malformed("a multipart body needs a valid boundary parameter");
  const delimiter = encoder.encode(`--${boundary}`);
  const nextDelimiter = encoder.encode(`\r\n--${boundary}`);
  if (!startsAt(bytes, delimiter, 0)) throw malformed("a multipart body must start with its boundary (no preamble)");
  const parts: Part[] = [];
  let at = delimiter.length;
  for (;;) {
    if (startsAt(bytes, DASHES, at)) {
      const rest = bytes.subarray(at + DASHES.length);
      if (rest.length === 0 || (rest.length === 2 && startsAt(rest, CRLF, 0))) return parts;
      throw malformed("a multipart body has data after its closing boundary");
    }
    if (!startsAt(bytes, CRLF, at)) throw malformed("a multipart boundary must be followed by CRLF");
    at += CRLF.length;
    const headerEnd = indexOf(bytes, HEADER_END, at);
    if (headerEnd < 0) throw malformed("a multipart part's headers do not end");
    const end = indexOf(bytes, nextDelimiter, headerEnd + HEADER_END.length);
    if (end < 0) throw malformed("a multipart body does not close with its boundary");
    const headerText = decodeUtf8(bytes.subarray(at, headerEnd), "a multipart part header");
    parts.push(readPart(headerText, bytes.subarray(headerEnd + HEADER_END.length, end)));
    at = end + nextDelimiter.length;
  }
}

const randomBoundary = (): string => `gateway-${[...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

/** The canonical multipart body for `parts`, and the boundary it uses. */
export function writeMultipart(parts: readonly Part[]): { bytes: Uint8Array; boundary: string } {
  const contents = parts.map((part) => (part.kind === "text" ? encoder.encode(part.value) : part.bytes));
  let boundary = randomBoundary();
  while (contents.some((content) => indexOf(content, encoder.encode(`--${boundary}`), 0) >= 0)) boundary = randomBoundary();
  const chunks: Uint8Array[] = [];
  parts.forEach((part, i) => {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.kind === "file") head += `; filename="${part.filename}"${part.contentType === null ? "" : `\r\nContent-Type: ${part.contentType}`}`;
    chunks.push(encoder.encode(`${head}\r\n\r\n`), contents[i]!, CRLF);
  });
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, boundary };
}
