/**
 * AXES_LOCKOUT_TEMPLATE: the operator's own HTML lockout page, with `{{name}}` placeholders filled
 * in HTML-escaped. Checked when the configuration is parsed: an unknown placeholder is a typo that
 * would otherwise show up on the page itself.
 */
import { ConfigError, type RawEnv, readText } from "../config/read";

/** The placeholders a template may use. */
export const PLACEHOLDERS = ["message", "retry_after_seconds", "retry_at", "login_url", "failure_limit", "failures"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const PLACEHOLDER = /\{\{\s*([\w-]+)\s*\}\}/g;
const EXAMPLE = `'<h1>Locked</h1><p>{{message}}</p><p>Try again at {{retry_at}}.</p><a href="{{login_url}}">Back</a>'`;

/** Replaces the characters that could open markup or end an attribute value. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** Reads AXES_LOCKOUT_TEMPLATE; null when unset. @throws ConfigError */
export function parseLockoutTemplate(env: RawEnv): string | null {
  const template = readText(env, "AXES_LOCKOUT_TEMPLATE");
  if (template === undefined) return null;
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(name!)) {
      throw new ConfigError("AXES_LOCKOUT_TEMPLATE", `{{${name}}} is not a placeholder (use ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")})`, EXAMPLE);
    }
  }
  return template;
}

/** Fills the template; every value is HTML-escaped. */
export function renderLockoutTemplate(template: string, values: Readonly<Record<Placeholder, string>>): string {
  return template.replace(PLACEHOLDER, (_, name: Placeholder) => escapeHtml(values[name]));
}
