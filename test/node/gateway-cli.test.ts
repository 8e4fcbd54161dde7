/**
 * The operator CLI (`npm run gateway`) against the real gateway: `wrangler dev` (workerd) counting in the real
 * Redis through the project's Upstash bridge, with the real Postgres behind the Neon HTTP endpoint as its fallback,
 * in front of the demo origin; the bridge, the endpoint and the origin are started by test/setup/global.ts.
 * Lockouts and sessions are made through the gateway with fetch, then inspected and cleared with the CLI run as
 * a child process, the way an operator runs it.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEMO_PASSWORD, DEMO_USERNAME } from "../../tools/demo-origin/server.ts";
import { Redis } from "@upstash/redis";
import { type WranglerDev, freePort, startWranglerDev } from "./wrangler-dev.ts";

const TSX = "node_modules/.bin/tsx";
const CLI = "tools/gateway-cli/index.ts";
const ADMIN_TOKEN = randomBytes(24).toString("base64url");
/** Each run counts under its own keys, so lists hold only what this file created. */
const KEY_PREFIX = `${inject("keyPrefix")}-cli-${randomBytes(4).toString("hex")}`;
const LOGIN_ROUTES = JSON.stringify([{ path: "/api/login/", body: ["json"], success: [200], failure: [401] }]);

let gateway: WranglerDev;

beforeAll(async () => {
  gateway = await startWranglerDev({
    ENVIRONMENT: "development",
    ORIGIN_URL: inject("originUrl"),
    ADMIN_TOKEN,
    UPSTASH_REDIS_REST_URL: inject("bridgeUrl"),
    UPSTASH_REDIS_REST_TOKEN: inject("bridgeToken"),
    // The Postgres fallback too, as in production: health then reports both stores and the circuit breaker.
    DATABASE_URL: inject("databaseUrl"),
    NEON_HTTP_ENDPOINT: `${inject("neonHttpUrl")}/sql`,
    CACHE_KEY_PREFIX: KEY_PREFIX,
    LOGIN_ROUTES,
    // Trusted devices on, so `devices list` / `devices revoke` have something to show.
    DEVICE_COOKIE_SECRET: randomBytes(32).toString("hex"),
  });
}, 200_000);

afterAll(async () => {
  await gateway?.stop();
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI as an operator would, with GATEWAY_URL and GATEWAY_ADMIN_TOKEN set (unless `env` overrides them),
 * and checks that the token is nowhere in its output.
 */
async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const { GATEWAY_URL, GATEWAY_ADMIN_TOKEN, GATEWAY_ADMIN_PREFIX, ADMIN_TOKEN: _unused, ...inherited } = process.env;
  const childEnv: Record<string, string | undefined> = { ...inherited, GATEWAY_URL: gateway?.url, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN, ...env };
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
  const result = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn(TSX, [CLI, ...args], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  expect(result.stdout).not.toContain(ADMIN_TOKEN);
  expect(result.stderr).not.toContain(ADMIN_TOKEN);
  return result;
}

/** A fresh TEST-NET-3 address, so tests never share an IP counter. */
const freshIp = (() => {
  let next = 1;
  return () => `203.0.113.${next++}`;
})();
const freshName = (label: string) => `${label}-${randomBytes(3).toString("hex")}`;

function login(ip: string, username: string, password = "wrong"): Promise<Response> {
  return fetch(`${gateway.url}/api/login/`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "cf-connecting-ip": ip },
    body: JSON.stringify({ username, password }),
    redirect: "manual",
  });
}

/** Three failed logins (AXES_FAILURE_LIMIT); the third already answers 429. */
async function failThreeTimes(attempts: [ip: string, username: string][]): Promise<void> {
  const statuses: number[] = [];
  for (const [ip, username] of attempts) {
    const response = await login(ip, username);
    await response.body?.cancel();
    statuses.push(response.status);
  }
  expect(statuses).toEqual([401, 401, 429]);
}

async function statusOf(ip: string, username: string): Promise<number> {
  const response = await login(ip, username);
  await response.body?.cancel();
  return response.status;
}

describe("usage", () => {
  it("prints the usage with --help and with no arguments, and exits 0", async () => {
    for (const { code, stdout } of await Promise.all([cli(["--help"]), cli([])])) {
      expect(code).toBe(0);
      expect(stdout).toContain("Usage: npm run gateway -- <command> [options]");
      expect(stdout).toContain("lockouts reset --ip IP | --username NAME");
    }
  });

  it("exits 2 naming the unknown option and showing an example", async () => {
    const { code, stdout, stderr } = await cli(["lockouts", "reset", "--ipp", "203.0.113.9"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("--ipp");
    expect(stderr).toContain("Example: npm run gateway -- lockouts reset --ip 203.0.113.9");
  });

  it("exits 2 when a command lacks its required option", async () => {
    const cases = [["lockouts", "reset"], ["lockouts", "status"], ["sessions", "list"], ["devices", "list"], ["devices", "revoke"]];
    const results = await Promise.all(cases.map((args) => cli(args)));
    for (const [i, { code, stderr }] of results.entries()) {
      const args = cases[i]!;
      expect(code, args.join(" ")).toBe(2);
      expect(stderr).toMatch(/needs --/);
      expect(stderr).toContain(`Example: npm run gateway -- ${args.join(" ")}`);
    }
  });

  it("exits 2 for an option that belongs to another command, a missing value or an unknown command", async () => {
    const cases: [string[], string][] = [
      [["health", "--ip", "203.0.113.9"], '--ip is not an option of "health"'],
      [["lockouts", "reset", "--ip"], "--ip"],
      [["sessions", "revoke", "--username", "alice", "--session-id", "abc"], "exactly one of --session-id or --username"],
      [["lockout", "list"], 'Unknown command "lockout"'],
      [["lockouts"], '"lockouts" needs a subcommand'],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [i, { code, stderr }] of results.entries()) {
      const [args, message] = cases[i]!;
      expect(code, args.join(" ")).toBe(2);
      expect(stderr).toContain(message);
    }
  });

  it("exits 2 without a token, naming GATEWAY_ADMIN_TOKEN", async () => {
    const { code, stderr } = await cli(["health"], { GATEWAY_ADMIN_TOKEN: undefined });
    expect(code).toBe(2);
    expect(stderr).toContain("GATEWAY_ADMIN_TOKEN is not set");
  });

  it("accepts ADMIN_TOKEN when GATEWAY_ADMIN_TOKEN is unset", async () => {
    const { code, stdout } = await cli(["lockouts", "list"], { GATEWAY_ADMIN_TOKEN: undefined, ADMIN_TOKEN });
    expect(code).toBe(0);
    expect(stdout).not.toBe("");
  });
});

describe("errors", () => {
  it("exits 1 with the gateway's 401 message for a wrong token, and never prints the token", async () => {
    const wrongToken = `wrong-${randomBytes(12).toString("hex")}`;
    const env = { GATEWAY_ADMIN_TOKEN: wrongToken };
    const [human, json] = await Promise.all([cli(["lockouts", "list"], env), cli(["lockouts", "list", "--json"], env)]);
    expect(human.code).toBe(1);
    expect(human.stdout).toBe("");
    expect(human.stderr).toMatch(/^Error: .+ \(HTTP 401\)$/m);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: expect.any(String) });
    expect(json.stderr).toMatch(/^Error: .+ \(HTTP 401\)$/m);
    for (const { stdout, stderr } of [human, json]) expect(stdout + stderr).not.toContain(wrongToken);
  });

  it("exits 1 when nothing listens at the URL, naming it", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const { code, stderr } = await cli(["health", "--url", url]);
    expect(code).toBe(1);
    expect(stderr).toContain(`GET ${url}/__gateway/health: cannot reach the gateway (ECONNREFUSED)`);
  });

  it("gives up after the timeout when the gateway does not answer", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const { code, stderr } = await cli(["lockouts", "list", "--url", `http://127.0.0.1:${port}`], { GATEWAY_TIMEOUT_SECONDS: "1" });
      expect(code).toBe(1);
      expect(stderr).toContain("no answer within 1 s");
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it("exits 1 naming the prefix when the admin path is not the gateway's", async () => {
    const { code, stderr } = await cli(["lockouts", "list"], { GATEWAY_ADMIN_PREFIX: "/not-the-admin-prefix" });
    expect(code).toBe(1);
    expect(stderr).toContain("HTTP 404");
    expect(stderr).toContain("/not-the-admin-prefix");
  });
});

describe("health", () => {
  it("reports the stores and exits 0", async () => {
    const { code, stdout, stderr } = await cli(["health"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain(`Gateway ${gateway.url} is ok`);
    expect(stdout).toMatch(/^STORE +KIND +REACHABLE +LATENCY +CIRCUIT/m);
    expect(stdout).toMatch(/^counters +\S*upstash\S* +yes +\d+ ms +closed/m);
    expect(stdout).toMatch(/^fallback +\S*postgres\S* +yes +\d+ ms/m);
    expect(stdout).toMatch(/^Configuration$/m);
  });

  it("prints the API's JSON as is with --json", async () => {
    const { code, stdout } = await cli(["health", "--json"]);
    expect(code).toBe(0);
    const health = JSON.parse(stdout);
    expect(health.status).toBe("ok");
    expect(health.stores.counters).toMatchObject({ reachable: true, circuit: "closed" });
    expect(health.stores.fallback).toMatchObject({ reachable: true });
    expect(stdout).not.toContain(ADMIN_TOKEN);
  });
});

describe("lockouts", () => {
  it("lists a locked IP and a locked username, and shows their status", async () => {
    const ip = freshIp();
    const username = freshName("eve");
    // Three usernames from one IP lock the IP; three IPs for one username lock the username.
    await failThreeTimes([[ip, freshName("a")], [ip, freshName("b")], [ip, freshName("c")]]);
    await failThreeTimes([[freshIp(), username], [freshIp(), username], [freshIp(), username]]);

    const list = await cli(["lockouts", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^IP ADDRESS +USERNAME +FAILURES +RETRY AFTER$/m);
    expect(list.stdout).toMatch(new RegExp(`^${ip.replaceAll(".", "\\.")} +- +3 +(29m \\d+s|30m)$`, "m"));
    expect(list.stdout).toMatch(new RegExp(`^- +${username} +3 +(29m \\d+s|30m)$`, "m"));

    const ipStatus = await cli(["lockouts", "status", "--ip", ip]);
    expect(ipStatus.code).toBe(0);
    expect(ipStatus.stdout).toContain(`ip ${ip}: locked out`);
    expect(ipStatus.stdout).toMatch(/^IP ADDRESS +USERNAME +FAILURES +LOCKED +RETRY AFTER$/m);
    expect(ipStatus.stdout).toMatch(new RegExp(`^${ip.replaceAll(".", "\\.")} +- +3 +yes +`, "m"));

    const both = await cli(["lockouts", "status", "--ip", ip, "--username", username]);
    expect(both.code).toBe(0);
    expect(both.stdout).toContain(`ip ${ip} and username ${username}: locked out`);
    expect(both.stdout).toMatch(new RegExp(`^- +${username} +3 +yes`, "m"));
  });

  it("says a client without failures is not locked out", async () => {
    const { code, stdout } = await cli(["lockouts", "status", "--ip", freshIp()]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/: not locked out/);
  });

  it("prints the lockout list as the API's JSON with --json", async () => {
    const ip = freshIp();
    await failThreeTimes([[ip, freshName("a")], [ip, freshName("b")], [ip, freshName("c")]]);
    const { code, stdout } = await cli(["lockouts", "list", "--json"]);
    expect(code).toBe(0);
    const body = JSON.parse(stdout) as { lockouts: { ip_address?: string; failures: number }[]; cursor: string | null };
    expect(body.cursor).toBeNull();
    expect(body.lockouts).toContainEqual(expect.objectContaining({ ip_address: ip, failures: 3 }));
  });

  it("resets an IP: its next attempt reaches the origin again", async () => {
    const ip = freshIp();
    await failThreeTimes([[ip, freshName("a")], [ip, freshName("b")], [ip, freshName("c")]]);
    expect(await statusOf(ip, freshName("d"))).toBe(429);

    const reset = await cli(["lockouts", "reset", "--ip", ip]);
    expect(reset.stderr).toBe("");
    expect(reset.code).toBe(0);
    expect(reset.stdout.trim()).toMatch(new RegExp(`^Reset [1-9]\\d* counters? for ip ${ip.replaceAll(".", "\\.")}$`));

    expect(await statusOf(ip, freshName("e"))).toBe(401);
    const after = await cli(["lockouts", "status", "--ip", ip]);
    expect(after.stdout).toContain(`ip ${ip}: not locked out`);
  });

  it("resets a username: its next attempt reaches the origin again", async () => {
    const username = freshName("mallory");
    await failThreeTimes([[freshIp(), username], [freshIp(), username], [freshIp(), username]]);
    expect(await statusOf(freshIp(), username)).toBe(429);

    const reset = await cli(["lockouts", "reset", "--username", username]);
    expect(reset.code).toBe(0);
    expect(reset.stdout.trim()).toMatch(new RegExp(`^Reset [1-9]\\d* counters? for username ${username}$`));

    expect(await statusOf(freshIp(), username)).toBe(401);
    const list = await cli(["lockouts", "list"]);
    expect(list.stdout).not.toContain(username);
  });

  it("resets an IP and a username together and prints the count as JSON with --json", async () => {
    const ip = freshIp();
    const username = freshName("trudy");
    await failThreeTimes([[ip, username], [ip, username], [ip, username]]);
    const { code, stdout } = await cli(["lockouts", "reset", "--ip", ip, "--username", username, "--json"]);
    expect(code).toBe(0);
    const body = JSON.parse(stdout) as { reset: number };
    expect(body.reset).toBeGreaterThanOrEqual(2);
    expect(await statusOf(ip, username)).toBe(401);
  });

  it("says so when there was nothing to reset", async () => {
    const ip = freshIp();
    const { code, stdout } = await cli(["lockouts", "reset", "--ip", ip]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`Reset 0 counters for ip ${ip}`);
  });

  it("exits 1 with the API's 400 message for a malformed IP", async () => {
    const { code, stderr } = await cli(["lockouts", "status", "--ip", "not-an-ip"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^Error: .+ \(HTTP 400\)$/m);
  });
});

describe("sessions", () => {
  async function demoLogin(ip: string): Promise<string> {
    const response = await login(ip, DEMO_USERNAME, DEMO_PASSWORD);
    await response.body?.cancel();
    expect(response.status).toBe(200);
    const sessionId = /^sessionid=([^;]+)/.exec(response.headers.get("set-cookie") ?? "")?.[1];
    expect(sessionId).toMatch(/^[0-9a-f]{32}$/);
    return sessionId!;
  }

  async function profileStatus(sessionId: string): Promise<number> {
    const response = await fetch(`${gateway.url}/accounts/profile/`, {
      headers: { cookie: `sessionid=${sessionId}`, "cf-connecting-ip": "198.51.100.1" },
      redirect: "manual",
    });
    await response.body?.cancel();
    return response.status;
  }

  it("lists the session a login created, then revokes every session of the user", async () => {
    const ip = freshIp();
    const sessionId = await demoLogin(ip);
    expect(await profileStatus(sessionId)).toBe(200);

    const list = await cli(["sessions", "list", "--username", DEMO_USERNAME]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID +USERNAME +IP +CREATED +LAST SEEN +STATE$/m);
    expect(list.stdout).toMatch(new RegExp(`^[0-9a-f]{12} +${DEMO_USERNAME} +${ip.replaceAll(".", "\\.")} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ +\\S+ \\S+ +active$`, "m"));
    expect(list.stdout).not.toContain(sessionId);

    const revoke = await cli(["sessions", "revoke", "--username", DEMO_USERNAME]);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout.trim()).toMatch(new RegExp(`^Revoked [1-9]\\d* sessions? for username ${DEMO_USERNAME}$`));

    const after = await cli(["sessions", "list", "--username", DEMO_USERNAME, "--json"]);
    expect(after.code).toBe(0);
    const body = JSON.parse(after.stdout) as { sessions: { ip: string; state: string }[] };
    expect(body.sessions.filter((s) => s.ip === ip).map((s) => s.state)).toEqual(["revoked"]);
    // The gateway now strips the revoked cookie: the origin sees an anonymous visitor and redirects to the login.
    expect(await profileStatus(sessionId)).toBe(302);
  });

  it("revokes one session by its cookie value without echoing it", async () => {
    const keep = await demoLogin(freshIp());
    const revokeMe = await demoLogin(freshIp());
    const revoke = await cli(["sessions", "revoke", "--session-id", revokeMe]);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout.trim()).toBe("Revoked 1 session for the given session id");
    expect(revoke.stdout + revoke.stderr).not.toContain(revokeMe);
    expect(await profileStatus(revokeMe)).toBe(302);
    expect(await profileStatus(keep)).toBe(200);
  });

  it("says so when a user has no sessions", async () => {
    const username = freshName("nobody");
    const { code, stdout } = await cli(["sessions", "list", "--username", username]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`No sessions for username ${username}.`);
  });
});

describe("devices", () => {
  /** A correct login; answers the trusted device's id from the cookie it set. */
  async function deviceLogin(ip: string): Promise<string> {
    const response = await login(ip, DEMO_USERNAME, DEMO_PASSWORD);
    await response.body?.cancel();
    expect(response.status).toBe(200);
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith("axes_device="));
    const id = /^axes_device=1\.[\w-]+\.([0-9a-f]{32})\./.exec(cookie ?? "")?.[1];
    expect(id).toBeDefined();
    return id!;
  }
  const listed = async (): Promise<string[]> => {
    const { code, stdout } = await cli(["devices", "list", "--username", DEMO_USERNAME, "--json"]);
    expect(code).toBe(0);
    return (JSON.parse(stdout) as { devices: { id: string }[] }).devices.map((d) => d.id);
  };

  it("lists a user's trusted devices, revokes one by id, then all of them", async () => {
    const ip = freshIp();
    const laptop = await deviceLogin(ip);
    const phone = await deviceLogin(freshIp());

    const list = await cli(["devices", "list", "--username", DEMO_USERNAME]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID +IP +ISSUED +EXPIRES +USER AGENT$/m);
    expect(list.stdout).toMatch(new RegExp(`^${laptop} +${ip.replaceAll(".", "\\.")} +\\d{4}-\\d\\d-\\d\\d `, "m"));

    const one = await cli(["devices", "revoke", "--username", DEMO_USERNAME, "--device-id", laptop]);
    expect(one.code).toBe(0);
    expect(one.stdout.trim()).toBe(`Revoked 1 trusted device for device ${laptop} of username ${DEMO_USERNAME}`);
    const left = await listed();
    expect(left).toContain(phone);
    expect(left).not.toContain(laptop);

    const all = await cli(["devices", "revoke", "--username", DEMO_USERNAME]);
    expect(all.code).toBe(0);
    expect(all.stdout.trim()).toMatch(new RegExp(`^Revoked [1-9]\\d* trusted devices? for username ${DEMO_USERNAME}$`));
    expect(await listed()).toEqual([]);
    const none = await cli(["devices", "list", "--username", DEMO_USERNAME]);
    expect(none.stdout.trim()).toBe(`No trusted devices for username ${DEMO_USERNAME}.`);
  });

  it("exits 1 with the gateway's message for a malformed device id", async () => {
    const { code, stderr } = await cli(["devices", "revoke", "--username", DEMO_USERNAME, "--device-id", "not-an-id"]);
    expect(code).toBe(1);
    expect(stderr).toContain('"device_id" must be a device id from GET /devices');
  });
});

describe("lockouts list at scale", () => {
  it("follows every page of the listing: 2,500 lockouts come back, each once", { timeout: 120_000 }, async () => {
    // Planted straight into Redis (through the bridge), where the gateway counts: far faster than 7,500 failed logins.
    const redis = new Redis({ url: inject("bridgeUrl"), token: inject("bridgeToken"), enableTelemetry: false });
    const keys = Array.from({ length: 2500 }, (_, i) => `${KEY_PREFIX}:lockout:username=paged-${i}`);
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.set(key, 3, { px: 600_000 });
    await pipeline.exec();
    try {
      const { code, stdout } = await cli(["lockouts", "list", "--json"]);
      expect(code).toBe(0);
      const body = JSON.parse(stdout) as { lockouts: { username?: string }[]; cursor: string | null };
      expect(body.cursor).toBeNull();
      const paged = body.lockouts.map((l) => l.username).filter((name) => name?.startsWith("paged-"));
      expect(paged).toHaveLength(2500);
      expect(new Set(paged).size).toBe(2500);
    } finally {
      await redis.del(...keys);
    }
  });
});

describe("attempts list (axes_list_attempts)", () => {
  it("lists real logins newest first with their outcome, filtered by username, IP and time, and bounded by --limit", async () => {
    const [ip, other] = [freshIp(), freshIp()];
    const username = freshName("trudy");
    await failThreeTimes([
      [ip, username],
      [ip, username],
      [ip, username],
    ]);
    expect(await statusOf(ip, username)).toBe(429); // refused while locked
    expect(await statusOf(other, username.toUpperCase())).toBe(429); // the username's own lock, from another address

    const { code, stdout } = await cli(["attempts", "list", "--username", username.toUpperCase(), "--since", "10m"]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^TIME +USERNAME +IP +PATH +OUTCOME +USER AGENT$/);
    const rows = lines.slice(1, -2).map((line) => line.split(/\s{2,}/));
    expect(rows.map((row) => [row[1], row[2], row[3], row[4]])).toEqual([
      [username, other, "/api/login/", "locked"],
      [username, ip, "/api/login/", "locked"],
      [username, ip, "/api/login/", "failure"],
      [username, ip, "/api/login/", "failure"],
      [username, ip, "/api/login/", "failure"],
    ]);
    for (const row of rows) expect(row[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(lines.at(-1)).toBe("5 attempts.");

    const byIp = await cli(["attempts", "list", "--ip", other, "--json"]);
    expect(byIp.code).toBe(0);
    const body = JSON.parse(byIp.stdout) as { attempts: { username: string; ip: string; outcome: string; counters: string[] }[]; cursor: string | null };
    expect(body.attempts).toEqual([expect.objectContaining({ username, ip: other, outcome: "locked", counters: [`ip_address=${other}`, `username=${username}`] })]);

    const newest = await cli(["attempts", "list", "--username", username, "--limit", "2"]);
    expect(newest.stdout.trim().split("\n").at(-1)).toBe("2 attempts (the newest 2; --limit N for more).");
    const none = await cli(["attempts", "list", "--username", freshName("nobody")]);
    expect([none.code, none.stdout.trim()]).toEqual([0, "No attempts."]);
  });

  it("exits 2 for a --since without a unit or a --limit out of range", async () => {
    const results = await Promise.all([cli(["attempts", "list", "--since", "90"]), cli(["attempts", "list", "--limit", "0"]), cli(["attempts", "list", "--all"])]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(results[0]!.stderr).toContain("--since needs a duration with a unit");
    expect(results[1]!.stderr).toContain("--limit must be a whole number");
    expect(results[2]!.stderr).toContain('--all is not an option of "attempts list"');
  });
});

describe("lockouts list --all and lockouts reset --all", () => {
  it("lists counters below the limit with their failures, refuses a reset of everything without --yes, and resets this prefix with it", async () => {
    const [ip, username] = [freshIp(), freshName("oscar")];
    expect(await statusOf(ip, username)).toBe(401);
    const locked = await cli(["lockouts", "list"]);
    expect(locked.stdout).not.toContain(username);
    const all = await cli(["lockouts", "list", "--all"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^IP ADDRESS +USERNAME +FAILURES +LOCKED +RETRY AFTER$/m);
    expect(all.stdout).toMatch(new RegExp(`^- +${username} +1 +no +-$`, "m"));
    expect(all.stdout).toMatch(new RegExp(`^${ip.replace(/\./g, "\\.")} +- +1 +no +-$`, "m"));

    const refused = await cli(["lockouts", "reset", "--all"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("deletes every counter of this gateway's key prefix");
    expect(refused.stderr).toContain("npm run gateway -- lockouts reset --all --yes");
    expect((await cli(["lockouts", "reset", "--all", "--yes", "--ip", ip])).code).toBe(2);
    expect((await cli(["lockouts", "list", "--all"])).stdout).toContain(username);

    // Another gateway's counters in the same Redis (another key prefix) are not this gateway's to reset.
    const redis = new Redis({ url: inject("bridgeUrl"), token: inject("bridgeToken"), enableTelemetry: false });
    const neighbour = `${KEY_PREFIX}-neighbour:lockout:username=${username}`;
    await redis.set(neighbour, 2, { px: 600_000 });
    try {
      const reset = await cli(["lockouts", "reset", "--all", "--yes"]);
      expect(reset.code).toBe(0);
      expect(reset.stdout.trim()).toMatch(/^Reset \d+ counters? for every client of this gateway$/);
      expect((await cli(["lockouts", "list", "--all"])).stdout.trim()).toBe("No counters.");
      expect(await redis.get(neighbour)).toBe(2);
      expect(await statusOf(ip, username)).toBe(401);
    } finally {
      await redis.del(neighbour);
    }
  });
});
