/**
 * JSON, read strictly and written canonically. `JSON.parse` and Python's `json.loads` agree on the
 * grammar but not on its corners: a key given twice (both keep the last, silently), lone surrogate
 * escapes, `NaN`/`Infinity` (Python only), a byte-order mark. The gateway refuses all of them and
 * forwards its own serialisation: the same members in the same order, numbers exactly as written.
 */
import { decodeUtf8, malformed } from "./refusal";

/** A parsed JSON value; numbers keep their literal text so re-serialising cannot change them. */
export type JsonValue =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly literal: string }
  | { readonly kind: "literal"; readonly literal: "true" | "false" | "null" }
  | { readonly kind: "array"; readonly items: readonly JsonValue[] }
  | { readonly kind: "object"; readonly members: ReadonlyMap<string, JsonValue> };

const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4}))*"/y;
const WHITESPACE = /[ \t\n\r]*/y;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

class Reader {
  at = 0;
  constructor(private readonly text: string) {}

  private skip(): void {
    WHITESPACE.lastIndex = this.at;
    WHITESPACE.exec(this.text);
    this.at = WHITESPACE.lastIndex;
  }

  private take(pattern: RegExp): string | null {
    pattern.lastIndex = this.at;
    const match = pattern.exec(this.text);
    if (!match) return null;
    this.at = pattern.lastIndex;
    return match[0];
  }

  private expect(char: string): void {
    this.skip();
    if (this.text[this.at] !== char) throw malformed("the JSON body is malformed");
    this.at++;
  }

  private string(): string {
    const literal = this.take(STRING);
    if (literal === null) throw malformed("the JSON body is malformed");
    const value = JSON.parse(literal) as string;
    if (LONE_SURROGATE.test(value)) throw malformed("the JSON body has a string with a lone surrogate escape");
    return value;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) throw malformed(`the JSON body nests deeper than ${MAX_DEPTH} levels`);
    this.skip();
    const char = this.text[this.at];
    if (char === '"') return { kind: "string", value: this.string() };
    if (char === "{") return this.object(depth);
    if (char === "[") return this.array(depth);
    for (const literal of ["true", "false", "null"] as const) {
      if (this.text.startsWith(literal, this.at)) {
        this.at += literal.length;
        return { kind: "literal", literal };
      }
    }
    const number = this.take(NUMBER);
    if (number === null) throw malformed("the JSON body is malformed");
    return { kind: "number", literal: number };
  }

  private object(depth: number): JsonValue {
    this.at++;
    const members = new Map<string, JsonValue>();
    this.skip();
    if (this.text[this.at] === "}") {
      this.at++;
      return { kind: "object", members };
    }
    for (;;) {
      this.skip();
      const key = this.string();
      if (members.has(key)) throw malformed(`the JSON body gives the key "${key}" more than once`);
      this.expect(":");
      members.set(key, this.value(depth + 1));
      this.skip();
      const next = this.text[this.at++];
      if (next === "}") return { kind: "object", members };
      if (next !== ",") throw malformed("the JSON body is malformed");
    }
  }

  private array(depth: number): JsonValue {
    this.at++;
    const items: JsonValue[] = [];
    this.skip();
    if (this.text[this.at] === "]") {
      this.at++;
      return { kind: "array", items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.skip();
      const next = this.text[this.at++];
      if (next === "]") return { kind: "array", items };
      if (next !== ",") throw malformed("the JSON body is malformed");
    }
  }

  end(): void {
    this.skip();
    if (this.at !== this.text.length) throw malformed("the JSON body is malformed");
  }
}

/** Parses a UTF-8 JSON body (no byte-order mark) whose top level is an object. */
export function parseJsonObject(bytes: Uint8Array): ReadonlyMap<string, JsonValue> {
  const text = decodeUtf8(bytes, "the JSON body");
  if (text.startsWith("\ufeff")) throw malformed("the JSON body must not start with a byte-order mark");
  const reader = new Reader(text);
  const value = reader.value(0);
  reader.end();
  if (value.kind !== "object") throw malformed("the JSON body must be an object");
  return value.members;
}

function write(value: JsonValue): string {
  switch (value.kind) {
    case "string":
      return JSON.stringify(value.value);
    case "number":
    case "literal":
      return value.literal;
    case "array":
      return `[${value.items.map(write).join(",")}]`;
    case "object":
      return `{${[...value.members].map(([key, member]) => `${JSON.stringify(key)}:${write(member)}`).join(",")}}`;
  }
}

/** The canonical serialisation of an object's members. */
export const writeJsonObject = (members: ReadonlyMap<string, JsonValue>): Uint8Array =>
  new TextEncoder().encode(write({ kind: "object", members }));
