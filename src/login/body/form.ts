/**
 * `application/x-www-form-urlencoded`, read strictly and written canonically. Every `%` must start
 * a valid escape and the decoded bytes must be UTF-8; fields are split on `&` only (Python's
 * `parse_qsl` has split on `;` too in some versions: a `;` is forwarded escaped, so the origin reads
 * it as part of the value, as the gateway did).
 */
import { type TextField, decodeUtf8, malformed } from "./refusal";

const encoder = new TextEncoder();

function decodeComponent(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === "+") {
      bytes.push(0x20);
    } else if (char === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw malformed("the form body has a malformed % escape");
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      const code = char.charCodeAt(0);
      if (code < 0x80) bytes.push(code);
      else {
        // Raw non-ASCII text: take the whole code point (the body was already checked to be UTF-8).
        const point = String.fromCodePoint(text.codePointAt(i)!);
        bytes.push(...encoder.encode(point));
        i += point.length - 1;
      }
    }
  }
  return decodeUtf8(Uint8Array.from(bytes), "a form field");
}

/** The fields of a urlencoded body, in order (empty `&&` segments carry nothing and are dropped). */
export function parseForm(bytes: Uint8Array): TextField[] {
  const text = decodeUtf8(bytes, "the form body");
  const fields: TextField[] = [];
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const at = pair.indexOf("=");
    const name = decodeComponent(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? "" : decodeComponent(pair.slice(at + 1));
    fields.push({ name, value });
  }
  return fields;
}

/** The canonical urlencoded body for `fields` (the URL Standard's serializer: UTF-8, `+` for space). */
export function writeForm(fields: readonly TextField[]): Uint8Array {
  return encoder.encode(new URLSearchParams(fields.map((field) => [field.name, field.value])).toString());
}
