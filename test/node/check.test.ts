/** `npm run check` (tools/check) run as a child process on real files, and the project's own wrangler.toml. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatDevVars, parseDevVars, withoutPlaceholders } from "../../tools/check/dev-vars.ts";

const dir = mkdtempSync(join(tmpdir(), "gateway-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("node_modules/.bin/tsx", ["tools/check/index.ts", ...args], { encoding: "utf8", env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function project(name: string, toml: string, devVars?: string): string {
  const root = join(dir, name);
  spawnSync("mkdir", ["-p", root]);
  writeFileSync(join(root, "wrangler.toml"), toml);
  if (devVars !== undefined) writeFileSync(join(root, ".dev.vars"), devVars);
  return join(root, "wrangler.toml");
}

const BROKEN = `name = "gw"
main = "src/index.ts"
[vars]
ENVIRONMENT = "production"
AXES_COOLOFF_TIME = 2
AXES_FAILURE_LIMIT = "three"
AXES_IP_WHITELIST = "203.0.113.7"
AXES_ONLY_USER_FAILURES = true
ORIGIN_URL = "https://origin.example.com"
ADMIN_TOKEN = "in-the-toml-0123456789"

[env.staging.vars]
ENVIRONMENT = "staging"
ORIGIN_URL = "https://staging-origin.example.com"
`;

describe("npm run check", () => {
  it("reports every error with an example, warns about ignored names and secrets in the toml, lists the secrets, exits 1", () => {
    const config = project("broken", BROKEN, "UPSTASH_REDIS_REST_URL=https://eu1-x.upstash.io\n");
    const { status, stdout, stderr } = check(["--config", config]);
    expect(status).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      [
        `Checked ${config} [vars] + ${join(dir, "broken", ".dev.vars")} (ENVIRONMENT=production)`,
        "",
        "Errors (2):",
        '  ✗ AXES_COOLOFF_TIME: "2" has no unit; django-axes reads a bare number as hours, so write the unit (for example "2h" or "30m") (example: AXES_COOLOFF_TIME=30m)',
        '  ✗ AXES_FAILURE_LIMIT: "three" must be a whole number from 1 to 1000000 (example: AXES_FAILURE_LIMIT=3)',
        "",
        "Warnings (3):",
        "  ! AXES_IP_WHITELIST: django-axes' name, read as AXES_WHITELIST_IPS; prefer AXES_WHITELIST_IPS",
        `  ! AXES_ONLY_USER_FAILURES: is not a setting of this gateway and is ignored; use AXES_LOCKOUT_PARAMETERS='["username"]'`,
        `  ! ADMIN_TOKEN: is a secret: remove it from ${config} and run \`npx wrangler secret put ADMIN_TOKEN\``,
        "",
        "Secrets for a deploy (`npx wrangler secret put NAME`; .dev.vars is only read by wrangler dev):",
        "  required     UPSTASH_REDIS_REST_TOKEN: is required when UPSTASH_REDIS_REST_URL is set",
        "  optional     UPSTASH_REDIS_REST_URL: set in .dev.vars",
        "  optional     DATABASE_URL: not set here",
        "  recommended  ORIGIN_SECRET: not set here",
        "  optional     ADMIN_TOKEN: in wrangler.toml (move it)",
        "  optional     LOCKOUT_WEBHOOK_URL: not set here",
        "  optional     SESSIONS_UPSTASH_REDIS_REST_URL: not set here",
        "  optional     SESSIONS_UPSTASH_REDIS_REST_TOKEN: not set here",
        "  optional     DEVICE_COOKIE_SECRET: not set here",
        "  optional     DEVICE_COOKIE_SECRET_PREVIOUS: not set here",
        "",
        "2 error(s), 3 warning(s): fix the errors before deploying.",
        "",
      ].join("\n"),
    );
  });

  it("checks an environment's own vars (not inherited from [vars]) and says which secrets production needs", () => {
    const config = project("staging", BROKEN);
    const { status, stdout } = check(["--config", config, "--env", "staging"]);
    expect(status).toBe(0);
    expect(stdout).toContain(`Checked ${config} [env.staging.vars] (ENVIRONMENT=staging)`);
    expect(stdout).toContain("Secrets for a deploy (`npx wrangler secret put NAME --env staging`;");
    expect(stdout).toContain("OK: no errors, 0 warning(s).");
  });

  it("stops `npm run deploy` on an error before wrangler runs", () => {
    // A wrangler on PATH that records being called.
    spawnSync("mkdir", ["-p", join(dir, "bin")]);
    writeFileSync(join(dir, "bin", "wrangler"), `#!/bin/sh\necho "wrangler $*" > ${dir}/wrangler-called\n`, { mode: 0o755 });
    const broken = check(["--deploy", "--config", project("deploy-broken", BROKEN)]);
    expect(broken.status).toBe(1);
    expect(spawnSync("test", ["-e", join(dir, "wrangler-called")]).status).toBe(1);

    const good = project("deploy-good", `name = "gw"\n[env.production.vars]\nORIGIN_URL = "https://o.example.com"\n`);
    const ok = check(["--deploy", "--config", good, "--env", "production", "--dry-run"]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("  required     UPSTASH_REDIS_REST_URL: is required when ENVIRONMENT=production");
    expect(spawnSync("cat", [join(dir, "wrangler-called")], { encoding: "utf8" }).stdout).toBe(`wrangler deploy --config ${good} --env production --dry-run\n`);
  });

  it("exits 2 for an unknown environment or option", () => {
    const config = project("usage", BROKEN);
    const missing = check(["--config", config, "--env", "prod"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`npm run check: ${config} has no [env.prod] (environments: staging)`);
    const unknown = check(["--verbose"]);
    expect([unknown.status, unknown.stderr.split("\n")[0]]).toEqual([2, "npm run check: unknown option --verbose"]);
  });

  it("passes the project's own wrangler.toml, top level and every environment", () => {
    for (const args of [[], ["--env", "staging"], ["--env", "production"]]) {
      const { status, stdout, stderr } = check(args);
      expect(stderr, args.join(" ")).toBe("");
      expect(status).toBe(0);
      expect(stdout).toMatch(/OK: no errors, 0 warning\(s\)\.\n$/);
    }
  });

  it("drops values still equal to .dev.vars.example's placeholders (npm run dev), keeping real ones", () => {
    const example = parseDevVars(`UPSTASH_REDIS_REST_URL=https://eu1-example-12345.upstash.io\nADMIN_TOKEN=replace-me-0123456789\n`);
    const copied = parseDevVars(`UPSTASH_REDIS_REST_URL=https://eu1-example-12345.upstash.io\nADMIN_TOKEN=my-own-token-0123456789\nORIGIN_URL=http://127.0.0.1:8000\n`);
    expect(withoutPlaceholders(copied, example)).toEqual({
      vars: { ADMIN_TOKEN: "my-own-token-0123456789", ORIGIN_URL: "http://127.0.0.1:8000" },
      placeholders: ["UPSTASH_REDIS_REST_URL"],
    });
  });

  it("writes an env file that reads back to the same values, and refuses what it cannot quote", () => {
    const vars = { LOGIN_ROUTES: '[{"path":"/api/login/","body":["json"]}]', TOKEN: "a b#c" };
    expect(formatDevVars(vars)).toBe(`LOGIN_ROUTES='[{"path":"/api/login/","body":["json"]}]'\nTOKEN='a b#c'\n`);
    expect(parseDevVars(formatDevVars(vars))).toEqual(vars);
    expect(() => formatDevVars({ X: "it's" })).toThrow("X: a value with a single quote or a line break cannot be written to an env file");
  });

  it("reads .dev.vars as wrangler does", () => {
    expect(parseDevVars(`# comment\nexport A=1\nB = "x\\ny" \nC='{"a":"b"}'\nD=plain # note\n\nbroken line\n`)).toEqual({ A: "1", B: "x\ny", C: '{"a":"b"}', D: "plain" });
  });
});
