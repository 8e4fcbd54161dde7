import type { IncomingMessage } from "node:http";
import { readBody } from "./http.ts";

/** The demo user's username. */
export const DEMO_USERNAME = "demo";

/** The demo user's password. */
export const DEMO_PASSWORD = "demo-password";

/** Fields a login request may carry; absent when not sent as a string. */
export interface Credentials {
  username?: string;
  password?: string;
  next?: string;
}

/** True for the demo user; the username is matched case-insensitively after trimming, as the gateway does. */
export function isDemoUser({ username, password }: Credentials): boolean {
  return username?.trim().toLowerCase() === DEMO_USERNAME && password === DEMO_PASSWORD;
}

/** True when the request declares a JSON body. */
export function isJsonRequest(req: IncomingMessage): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(req.headers["content-type"] ?? "");
}

/**
 * Reads credentials from an urlencoded or multipart body, as Django fills `request.POST`.
 * Any other body, or one that does not parse, yields no fields (Django then re-renders the form).
 */
export async function readFormCredentials(req: IncomingMessage): Promise<Credentials> {
  const contentType = req.headers["content-type"] ?? "";
  const body = await readBody(req);
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(contentType)) return {};
  try {
    // The WHATWG parser handles both encodings, including multipart boundaries and file parts.
    const form = await new Request("http://demo-origin.invalid/", {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    }).formData();
    return pickStrings((name) => form.get(name));
  } catch {
    return {};
  }
}

/** Reads credentials from a JSON object body; `undefined` means the body is not a JSON object (400). */
export async function readJsonCredentials(req: IncomingMessage): Promise<Credentials | undefined> {
  let value: unknown;
  try {
    value = JSON.parse((await readBody(req)).toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const fields = new Map<string, unknown>(Object.entries(value));
  return pickStrings((name) => fields.get(name));
}

function pickStrings(get: (name: string) => unknown): Credentials {
  const credentials: Credentials = {};
  for (const name of ["username", "password", "next"] as const) {
    const value = get(name);
    if (typeof value === "string") credentials[name] = value;
  }
  return credentials;
}
