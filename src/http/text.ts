/** Text decoding as the Python side of an origin does it. */

/** Not fatal (bad bytes read as U+FFFD) and keeping a BOM, as Python's `bytes.decode(errors="replace")` does. */
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Decodes UTF-8 the way Python's `bytes.decode("utf-8", "replace")` does.
 * @example decodeUtf8LikePython(new Uint8Array([0x61, 0xff])) // "a\uFFFD"
 */
export const decodeUtf8LikePython = (bytes: Uint8Array): string => utf8.decode(bytes);
