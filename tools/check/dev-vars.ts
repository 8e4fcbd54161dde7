/**
 * `.dev.vars` files both ways.
 *
 * Reads a `.dev.vars` file the way wrangler does (dotenv syntax): `NAME=value` lines, `#` comments,
 * an optional `export `, values in single quotes taken literally, in double quotes with `\n` escapes.
 */
export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, name, rest] = match as unknown as [string, string, string];
    let value: string;
    const quoted = /^(['"`])(.*)\1/.exec(rest);
    if (quoted) value = quoted[1] === '"' ? quoted[2]!.replace(/\\n/g, "\n").replace(/\\r/g, "\r") : quoted[2]!;
    else value = rest.replace(/\s+#.*$/, "").trim();
    vars[name] = value;
  }
  return vars;
}

/** Writes variables in the same syntax; single quotes keep JSON values literal. @throws Error on a quote or line break */
export function formatDevVars(vars: Readonly<Record<string, string>>): string {
  return Object.entries(vars)
    .map(([name, value]) => {
      if (/['\n\r]/.test(value)) throw new Error(`${name}: a value with a single quote or a line break cannot be written to an env file`);
      return `${name}='${value}'\n`;
    })
    .join("");
}

/** The variables without those still equal to the example file's placeholder values (a copied example). */
export function withoutPlaceholders(vars: Readonly<Record<string, string>>, example: Readonly<Record<string, string>>): { vars: Record<string, string>; placeholders: string[] } {
  const kept = { ...vars };
  const placeholders = Object.keys(vars).filter((name) => example[name] !== undefined && vars[name] === example[name]);
  for (const name of placeholders) delete kept[name];
  return { vars: kept, placeholders };
}
