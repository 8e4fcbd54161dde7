/**
 * `npm run dev` (tools/dev.ts) as a developer runs it, on free ports: the banner names GATEWAY_URL and
 * the dashboard, stdout carries only the gateway's plain JSON log lines, and no token is on any
 * command line (`ps`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../../tools/shared/server.ts";

let child: ChildProcess;
let stdout = "";
let stderr = "";
let gatewayUrl: string;

beforeAll(async () => {
  const [gateway, origin, bridge, neon] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  gatewayUrl = `http://127.0.0.1:${gateway}`;
  const env: NodeJS.ProcessEnv = { ...process.env, GATEWAY_PORT: String(gateway), DEMO_ORIGIN_PORT: String(origin), BRIDGE_PORT: String(bridge), NEON_HTTP_PORT: String(neon) };
  // Its own keys in the shared Redis, never the default prefix.
  env.CACHE_KEY_PREFIX = `${inject("keyPrefix")}-dev-${randomBytes(4).toString("hex")}`;
  delete env.ORIGIN_URL;
  child = spawn("node_modules/.bin/tsx", ["tools/dev.ts"], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const started = Date.now();
  while (!stderr.includes("  Logs ")) {
    if (Date.now() - started > 80_000) throw new Error(`npm run dev was not ready:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 90_000);

afterAll(async () => {
  if (!child?.pid) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
});

/** Command lines of every process in the dev process group. */
function commandLines(): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const group = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (group === child.pid) lines.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim());
    } catch {
      // The process ended while we looked.
    }
  }
  return lines;
}

describe("npm run dev", () => {
  it("prints GATEWAY_URL in the admin line, the dashboard and how to read the logs", () => {
    expect(stderr).toContain(`  Admin     GATEWAY_URL=${gatewayUrl} GATEWAY_ADMIN_TOKEN=local-dev-admin-token npm run gateway -- health   (dev-only token)\n`);
    expect(stderr).toContain(`  Dashboard ${gatewayUrl}/__gateway/  (sign in with the admin token)\n`);
    expect(stderr).toContain("  Logs      JSON lines on stdout: npm run -s dev | jq .\n");
  });

  it("writes only plain JSON log lines to stdout", async () => {
    const response = await fetch(`${gatewayUrl}/api/login/`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "cf-connecting-ip": "203.0.113.201" },
      body: JSON.stringify({ username: "nobody", password: "wrong" }),
    });
    expect(response.status).toBe(401);
    const started = Date.now();
    while (!stdout.includes('"login_attempt"') && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = stdout.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.event === "login_attempt")).toMatchObject({
      level: "info",
      ip: "203.0.113.201",
      path: "/api/login/",
      outcome: "failure",
      failures: 1,
    });
  });

  it("keeps the tokens off every command line and uses a free inspector port", () => {
    const lines = commandLines();
    const wrangler = lines.find((line) => / dev --ip 127\.0\.0\.1 /.test(line));
    expect(wrangler).toMatch(/ --inspector-port \d+ --env-file \/tmp\/gateway-dev-\w+\/vars\.env$/);
    expect(wrangler).not.toContain("--inspector-port 9229");
    for (const line of lines) {
      expect(line).not.toContain("local-dev-admin-token");
      expect(line).not.toContain("--var");
    }
  });
});
