/** Text decoding as the Python side of an origin does it. */

/** Not fatal (bad bytes read as U+FFFD) and keeping a BOM, as Python's `bytes.decode(errors="replace")` does. */
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Decodes UTF-8 the way Python's `bytes.decode("utf-8", "replace")` does.
 * @example decodeUtf8LikePython(new Uint8Array([0x61, 0xff])) // "a\uFFFD"
 */
export const decodeUtf8LikePython = (bytes: Uint8Array): string => utf8.decode(bytes);

/**
 * Decodes each valid `%XX` escape and leaves malformed ones as they are, as Python's `unquote` (and
 * so a WSGI server) does: one bad escape must not keep the rest encoded, or `/%5F_gateway/%zz`
 * would not be the admin path that the origin reads.
 * @example percentDecode("/%5F_gateway/%zz") // "/__gateway/%zz"
 */
export function percentDecode(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return decodeUtf8LikePython(bytes);
  });
}
