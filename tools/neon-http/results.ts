/**
 * Neon's SQL-over-HTTP wire format, the answer side: a node-postgres result (text values, array rows) in the
 * JSON shape Neon's proxy writes, including its text-to-JSON conversion when raw text output is off.
 */
import type { FieldDef } from "pg";

/** A node-postgres result fetched with identity type parsers and `rowMode: "array"`. */
export interface TextResult {
  command: string | null;
  rowCount: number | null;
  fields: FieldDef[];
  rows: Array<Array<string | null>>;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One query's answer, field for field as Neon's proxy writes it. */
export interface NeonResult {
  command: string;
  rowCount: number | null;
  rowAsArray: boolean;
  fields: NeonField[];
  rows: Array<JsonValue[] | Record<string, JsonValue>>;
}

export interface NeonField {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: "text";
}

/** Element type OID of an array type OID, or undefined for a scalar type. */
export type ElementTypeOf = (oid: number) => number | undefined;

const OID = { bool: 16, int2: 21, int4: 23, float4: 700, float8: 701, json: 114, jsonb: 3802 } as const;

/**
 * Shapes one result. With `rawTextOutput` every value stays the text Postgres sent (what the driver expects);
 * without it values become JSON the way Neon converts them (see `textToJson`).
 */
export function toNeonResult(
  result: TextResult,
  { arrayMode, rawTextOutput }: { arrayMode: boolean; rawTextOutput: boolean },
  elementTypeOf: ElementTypeOf,
): NeonResult {
  const fields = result.fields.map((field): NeonField => ({
    name: field.name,
    dataTypeID: field.dataTypeID,
    tableID: field.tableID,
    columnID: field.columnID,
    dataTypeSize: field.dataTypeSize,
    dataTypeModifier: field.dataTypeModifier,
    format: "text",
  }));
  const convert = fields.map(({ dataTypeID }) =>
    rawTextOutput ? (text: string): JsonValue => text : (text: string) => textToJson(text, dataTypeID, elementTypeOf),
  );
  const valueRows = result.rows.map((row) => row.map((text, i) => (text === null ? null : convert[i]!(text))));
  return {
    command: result.command ?? "",
    rowCount: result.rowCount,
    rowAsArray: arrayMode,
    fields,
    // Like Neon's proxy (and JSON.parse of its output), a repeated column name keeps the last value.
    rows: arrayMode ? valueRows : valueRows.map((row) => Object.fromEntries(fields.map((field, i) => [field.name, row[i]!]))),
  };
}

/**
 * Neon's conversion of a text value: bool, int2/int4 and finite floats become JSON booleans and numbers,
 * json/jsonb become JSON, arrays become JSON arrays of converted elements; everything else (int8, numeric,
 * timestamps, bytea, ...) stays a string.
 */
export function textToJson(text: string, oid: number, elementTypeOf: ElementTypeOf): JsonValue {
  const element = elementTypeOf(oid);
  // int2vector and oidvector count as arrays in pg_type but print as "1 2 3": leave those as text.
  if (element !== undefined && /^[{[]/.test(text)) return parseArrayText(text, (item) => textToJson(item, element, elementTypeOf));
  switch (oid) {
    case OID.bool:
      return text === "t";
    case OID.int2:
    case OID.int4:
      return Number(text);
    case OID.float4:
    case OID.float8:
      // NaN and Infinity have no JSON number; Neon keeps them as strings.
      return Number.isFinite(Number(text)) ? Number(text) : text;
    case OID.json:
    case OID.jsonb:
      return JSON.parse(text) as JsonValue;
    default:
      return text;
  }
}

/**
 * Parses Postgres array output (`{1,NULL,"a \"b\""}`, nested, optionally with `[1:2]=` bounds, which are dropped)
 * and converts each element.
 */
export function parseArrayText(text: string, convert: (item: string) => JsonValue): JsonValue[] {
  const source = text.startsWith("[") ? text.slice(text.indexOf("=") + 1) : text;
  let at = 0;
  const fail = (): never => {
    throw new Error(`could not parse postgres array output at offset ${at}`);
  };
  const skipSpace = (): void => {
    while (source[at] === " ") at += 1;
  };

  function list(): JsonValue[] {
    if (source[at] !== "{") fail();
    at += 1;
    const items: JsonValue[] = [];
    skipSpace();
    if (source[at] === "}") {
      at += 1;
      return items;
    }
    for (;;) {
      skipSpace();
      items.push(source[at] === "{" ? list() : source[at] === '"' ? convert(quoted()) : bare());
      skipSpace();
      const separator = source[at];
      at += 1;
      if (separator === "}") return items;
      if (separator !== ",") fail();
    }
  }

  function quoted(): string {
    let value = "";
    for (at += 1; at < source.length; at += 1) {
      const char = source[at];
      if (char === '"') {
        at += 1;
        return value;
      }
      if (char === "\\") at += 1;
      value += source[at] ?? "";
    }
    return fail();
  }

  function bare(): JsonValue {
    const start = at;
    while (at < source.length && source[at] !== "," && source[at] !== "}") at += 1;
    const item = source.slice(start, at).trimEnd();
    return item === "NULL" ? null : convert(item);
  }

  skipSpace();
  const parsed = list();
  skipSpace();
  if (at !== source.length) fail();
  return parsed;
}
