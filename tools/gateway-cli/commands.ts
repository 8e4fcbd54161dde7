/**
 * Each command as an admin API request, and its answer as a few lines for a person: aligned columns or one
 * sentence. The `--json` output bypasses this module.
 */
import type { Command } from "./args.ts";
import type { AdminRequest } from "./client.ts";
import { formatInstant, formatRetryAfter, isRecord, table, yesNo } from "./format.ts";

/**
 * The admin API request behind a command.
 * @example requestFor({ name: "lockouts reset", ip: "203.0.113.9" }) // POST /lockouts/reset {"ip":"203.0.113.9"}
 */
export function requestFor(command: Command): AdminRequest {
  switch (command.name) {
    case "health":
      return { method: "GET", path: "/health" };
    case "lockouts list":
      return { method: "GET", path: "/lockouts", query: command.all ? { all: "true" } : {} };
    case "lockouts status":
      return { method: "GET", path: "/lockouts/status", query: { ip: command.ip, username: command.username } };
    case "lockouts reset":
      return command.all
        ? { method: "POST", path: "/lockouts/reset", body: { all: true, confirm: true } }
        : { method: "POST", path: "/lockouts/reset", body: { ip: command.ip, username: command.username } };
    case "attempts list":
      return { method: "GET", path: "/attempts", query: { username: command.username, ip: command.ip, since: command.since, limit: String(Math.min(command.limit, 1000)) } };
    case "sessions list":
      return { method: "GET", path: "/sessions", query: { username: command.username } };
    case "sessions revoke":
      return {
        method: "POST",
        path: "/sessions/revoke",
        body: command.by === "session_id" ? { session_id: command.sessionId } : { username: command.username },
      };
    case "devices list":
      return { method: "GET", path: "/devices", query: { username: command.username } };
    case "devices revoke":
      return { method: "POST", path: "/devices/revoke", body: { username: command.username, device_id: command.deviceId } };
  }
}

/** "ip 203.0.113.9 and username alice"; a session id is never echoed (it is a live credential). */
function target(command: Command): string {
  if (command.name === "sessions revoke") return command.by === "session_id" ? "the given session id" : `username ${command.username}`;
  if (command.name === "lockouts reset" && command.all) return "every client of this gateway";
  if (command.name === "devices revoke" && command.deviceId !== undefined) return `device ${command.deviceId} of username ${command.username}`;
  if (!("ip" in command) && !("username" in command)) return "";
  const parts: string[] = [];
  if ("ip" in command && command.ip !== undefined) parts.push(`ip ${command.ip}`);
  if ("username" in command && command.username !== undefined) parts.push(`username ${command.username}`);
  return parts.join(" and ");
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Renders a successful (or, for health, degraded) answer for a person; `undefined` when the body does not have
 * the documented shape, so the caller can fall back to the raw JSON.
 */
export function renderAnswer(command: Command, body: unknown, gateway: string): string | undefined {
  if (!isRecord(body)) return undefined;
  switch (command.name) {
    case "health":
      return renderHealth(body, gateway);
    case "lockouts list":
      return renderLockouts(body, command.all);
    case "attempts list":
      return renderAttempts(body, command.limit);
    case "lockouts status":
      return renderStatus(body, target(command));
    case "lockouts reset":
      return typeof body.reset === "number" ? `Reset ${plural(body.reset, "counter")} for ${target(command)}` : undefined;
    case "sessions list":
      return renderSessions(body, target(command));
    case "sessions revoke":
      return typeof body.revoked === "number" ? `Revoked ${plural(body.revoked, "session")} for ${target(command)}` : undefined;
    case "devices list":
      return renderDevices(body, target(command));
    case "devices revoke":
      return typeof body.revoked === "number" ? `Revoked ${plural(body.revoked, "trusted device")} for ${target(command)}` : undefined;
  }
}

function renderHealth(body: Record<string, unknown>, gateway: string): string | undefined {
  if (typeof body.status !== "string" || !isRecord(body.stores)) return undefined;
  const lines = [`Gateway ${gateway} is ${body.status}`, ""];
  const rows = Object.entries(body.stores).map(([name, store]) => {
    const s = isRecord(store) ? store : {};
    const known = new Set(["kind", "reachable", "latency_ms", "circuit"]);
    const extra = Object.entries(s)
      .filter(([key]) => !known.has(key))
      .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
    return [
      name,
      String(s.kind ?? "-"),
      yesNo(s.reachable),
      typeof s.latency_ms === "number" ? `${s.latency_ms} ms` : "-",
      String(s.circuit ?? "-"),
      extra.join(" "),
    ];
  });
  lines.push(...table(["store", "kind", "reachable", "latency", "circuit", ""], rows));
  if (isRecord(body.config)) {
    lines.push("", "Configuration");
    const entries = flatten(body.config);
    const width = Math.max(...entries.map(([key]) => key.length));
    for (const [key, value] of entries) lines.push(`  ${key.padEnd(width)}  ${value}`);
  }
  return lines.join("\n");
}

function flatten(config: Record<string, unknown>, prefix = ""): [string, string][] {
  return Object.entries(config).flatMap(([key, value]): [string, string][] =>
    isRecord(value)
      ? flatten(value, `${prefix}${key}.`)
      : [[`${prefix}${key}`, typeof value === "string" ? value : JSON.stringify(value)]],
  );
}

/** Identity columns shown only when some row has them: a user-agent hash column is noise otherwise. */
function identityColumns(rows: Record<string, unknown>[]): string[] {
  const columns = ["ip_address", "username"];
  if (rows.some((row) => row.user_agent !== undefined)) columns.push("user_agent");
  return columns;
}

const HEADINGS: Record<string, string> = { ip_address: "ip address", username: "username", user_agent: "user agent" };

const cell = (value: unknown): string => (value === undefined || value === null || value === "" ? "-" : String(value));

function renderLockouts(body: Record<string, unknown>, all: boolean): string | undefined {
  if (!Array.isArray(body.lockouts)) return undefined;
  const lockouts = body.lockouts.filter(isRecord);
  if (lockouts.length === 0) return all ? "No counters." : "No lockouts.";
  const columns = identityColumns(lockouts);
  if (all) {
    // Every counter: most failures first, the locked ones with their time left.
    const sorted = [...lockouts].sort((a, b) => Number(b.failures) - Number(a.failures));
    const rows = sorted.map((l) => [...columns.map((c) => cell(l[c])), cell(l.failures), yesNo(l.locked), l.locked === true ? formatRetryAfter(l.retry_after_seconds) : "-"]);
    const locked = lockouts.filter((l) => l.locked === true).length;
    const lines = table([...columns.map((c) => HEADINGS[c]!), "failures", "locked", "retry after"], rows);
    lines.push("", `${plural(lockouts.length, "counter")}, ${locked} locked.`);
    return lines.join("\n");
  }
  const rows = lockouts.map((l) => [...columns.map((c) => cell(l[c])), cell(l.failures), formatRetryAfter(l.retry_after_seconds)]);
  const lines = table([...columns.map((c) => HEADINGS[c]!), "failures", "retry after"], rows);
  lines.push("", `${plural(lockouts.length, "lockout")}.`);
  return lines.join("\n");
}

function renderAttempts(body: Record<string, unknown>, limit: number): string | undefined {
  if (!Array.isArray(body.attempts)) return undefined;
  const attempts = body.attempts.filter(isRecord);
  if (attempts.length === 0) return "No attempts.";
  const rows = attempts.map((a) => [formatInstant(a.time), cell(a.username), cell(a.ip), cell(a.path), cell(a.outcome), typeof a.user_agent === "string" ? a.user_agent.slice(0, 12) : "-"]);
  const lines = table(["time", "username", "ip", "path", "outcome", "user agent"], rows);
  const more = typeof body.cursor === "string" ? ` (the newest ${limit}; --limit N for more)` : "";
  lines.push("", `${plural(attempts.length, "attempt")}${more}.`);
  return lines.join("\n");
}

function renderStatus(body: Record<string, unknown>, who: string): string | undefined {
  if (typeof body.locked !== "boolean" || !Array.isArray(body.counters)) return undefined;
  const counters = body.counters.filter(isRecord);
  const headline = `${who}: ${body.locked ? "locked out" : "not locked out"}`;
  if (counters.length === 0) return `${headline} (no counters)`;
  const columns = identityColumns(counters);
  const rows = counters.map((c) => [
    ...columns.map((column) => cell(c[column])),
    cell(c.failures),
    yesNo(c.locked),
    c.locked === true ? formatRetryAfter(c.retry_after_seconds) : "-",
  ]);
  return [headline, "", ...table([...columns.map((c) => HEADINGS[c]!), "failures", "locked", "retry after"], rows)].join("\n");
}

function renderSessions(body: Record<string, unknown>, who: string): string | undefined {
  if (!Array.isArray(body.sessions)) return undefined;
  const sessions = body.sessions.filter(isRecord);
  if (sessions.length === 0) return `No sessions for ${who}.`;
  const rows = sessions.map((s) => [
    cell(s.id),
    cell(s.username),
    cell(s.ip),
    formatInstant(s.created),
    formatInstant(s.last_seen),
    cell(s.state),
  ]);
  return table(["id", "username", "ip", "created", "last seen", "state"], rows).join("\n");
}

function renderDevices(body: Record<string, unknown>, who: string): string | undefined {
  if (!Array.isArray(body.devices)) return undefined;
  const devices = body.devices.filter(isRecord);
  if (devices.length === 0) return `No trusted devices for ${who}.`;
  const rows = devices.map((d) => [cell(d.id), cell(d.ip), formatInstant(d.issued_at), formatInstant(d.expires_at), cell(d.user_agent)]);
  return table(["id", "ip", "issued", "expires", "user agent"], rows).join("\n");
}
