/**
 * Request bodies written the way an attacker would to make the gateway and Django read them
 * differently: text in charsets Python decodes (and a UTF-8 reader does not), and multipart bodies
 * built byte by byte so that part layouts Django's MultiPartParser accepts can be expressed.
 */

/** Charsets Python knows, written as Python's codecs write them. */
export const CHARSETS = ["utf-8", "latin-1", "cp500", "utf-16", "utf-16-be", "utf-32", "utf-7"] as const;
export type Charset = (typeof CHARSETS)[number];

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

export function concatBytes(...parts: (Uint8Array | string)[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

// Python's cp500 (EBCDIC) bytes for U+0000..U+00FF: bytes(range(256)).decode("latin-1").encode("cp500").hex()
const CP500 = Uint8Array.from(
  (
    "00010203372d2e2f1605250b0c0d0e0f101112133c3d322618193f271c1d1e1f404f7f7b5b6c507d4d5d5c4e6b604b61f0f1f2f3f4f5f6f7f8f97a5e4c7e6e6f" +
    "7cc1c2c3c4c5c6c7c8c9d1d2d3d4d5d6d7d8d9e2e3e4e5e6e7e8e94ae05a5f6d79818283848586878889919293949596979899a2a3a4a5a6a7a8a9c0bbd0a107" +
    "202122232415061728292a2b2c090a1b30311a333435360838393a3b04143eff41aab0b19fb26ab5bdb49a8abacaafbc908feafabea0b6b39dda9b8bb7b8b9ab" +
    "6465626663679e687471727378757677ac69edeeebefecbf80fdfefbfcadae594445424643479c4854515253585556578c49cdcecbcfcce170dddedbdc8d8edf"
  ).match(/../g)!,
  (hex) => parseInt(hex, 16),
);

/** True when every character of `text` exists in `charset` (latin-1 and cp500 cover U+0000..U+00FF only). */
export const canEncode = (text: string, charset: Charset): boolean =>
  charset !== "latin-1" && charset !== "cp500" ? true : [...text].every((c) => c.codePointAt(0)! < 0x100);

function utf16(text: string, littleEndian: boolean, bom: boolean): Uint8Array {
  const out = new Uint8Array((bom ? 2 : 0) + text.length * 2);
  const view = new DataView(out.buffer);
  if (bom) view.setUint16(0, 0xfeff, littleEndian);
  for (let i = 0; i < text.length; i++) view.setUint16((bom ? 2 : 0) + i * 2, text.charCodeAt(i), littleEndian);
  return out;
}

function utf32(text: string): Uint8Array {
  const points = [0xfeff, ...[...text].map((c) => c.codePointAt(0)!)];
  const out = new Uint8Array(points.length * 4);
  const view = new DataView(out.buffer);
  points.forEach((p, i) => view.setUint32(i * 4, p, true));
  return out;
}

// Characters UTF-7 may write as themselves (RFC 2152 sets D and O, which Python's decoder takes as they are).
const UTF7_DIRECT = /[A-Za-z0-9'(),\-./:? !"#$%&*;<=>@[\]^_`{|}]/;

/** UTF-7: every other run becomes `+<modified base64 of UTF-16BE>-`. */
function utf7(text: string): Uint8Array {
  let out = "";
  let run = "";
  const flush = () => {
    if (run === "") return;
    out += `+${btoa(String.fromCharCode(...utf16(run, false, false))).replace(/=+$/, "")}-`;
    run = "";
  };
  for (const c of text) {
    if (UTF7_DIRECT.test(c)) {
      flush();
      out += c;
    } else run += c;
  }
  flush();
  return ascii(out);
}

/** `text` in `charset`, as Python's `text.encode(charset)` writes it (utf-16 and utf-32 with a little-endian BOM). */
export function encodeText(text: string, charset: Charset): Uint8Array {
  switch (charset) {
    case "utf-8":
      return new TextEncoder().encode(text);
    case "latin-1":
    case "cp500": {
      if (!canEncode(text, charset)) throw new Error(`${JSON.stringify(text)} has characters ${charset} cannot write`);
      const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
      return charset === "latin-1" ? bytes : bytes.map((b) => CP500[b]!);
    }
    case "utf-16":
      return utf16(text, true, true);
    case "utf-16-be":
      return utf16(text, false, false);
    case "utf-32":
      return utf32(text);
    case "utf-7":
      return utf7(text);
  }
}

/** One multipart part: header lines (bytes, so a name can be written in the body's charset) and its content. */
export interface Part {
  readonly headers: readonly Uint8Array[];
  readonly content: Uint8Array;
}

/** `Content-Disposition: form-data; name="<name>"` with the name's bytes as given. */
export const disposition = (name: Uint8Array, { quoted = true, headerName = "Content-Disposition" } = {}): Uint8Array =>
  concatBytes(`${headerName}: form-data; name=`, quoted ? '"' : "", name, quoted ? '"' : "");

/** A field part with the name and value written in `charset`. */
export const fieldPart = (name: string, value: string, charset: Charset = "utf-8"): Part => ({
  headers: [disposition(encodeText(name, charset))],
  content: encodeText(value, charset),
});

/**
 * A multipart body: `parts`, the closing delimiter, then `afterClose` parts (each closed again, as a
 * second body would be). `preamble` comes before the first delimiter.
 */
export function multipartBody(boundary: string, parts: readonly Part[], { afterClose = [] as readonly Part[], preamble = "" } = {}): Uint8Array {
  const render = (part: Part) => concatBytes(`--${boundary}\r\n`, ...part.headers.flatMap((h) => [h, "\r\n"]), "\r\n", part.content, "\r\n");
  return concatBytes(
    preamble,
    ...parts.map(render),
    `--${boundary}--\r\n`,
    ...(afterClose.length > 0 ? [...afterClose.map(render), `--${boundary}--\r\n`] : []),
  );
}

/**
 * A urlencoded body in `charset`: names and values are written as they are (not percent-encoded),
 * so that Django decodes them from the charset; they must not contain `&`, `=`, `+` or `%`.
 */
export function urlencodedBody(fields: readonly (readonly [string, string])[], charset: Charset): Uint8Array {
  for (const [name, value] of fields) {
    if (/[&=+%]/.test(name + value)) throw new Error(`field ${JSON.stringify(name)} needs escapes; write it in UTF-8`);
  }
  return encodeText(fields.map(([name, value]) => `${name}=${value}`).join("&"), charset);
}

/** Percent-encoded UTF-8, the urlencoded body every reader agrees on. */
export const utf8Urlencoded = (fields: readonly (readonly [string, string])[]): string =>
  fields.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join("&");
