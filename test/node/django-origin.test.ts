/**
 * The Django origin of the differential tests (test/django-origin), started here as its own process so
 * its auth log is this file's alone: it records every password check, and reads bodies the way a
 * Django behind a front proxy does (chunked bodies included).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const PYTHON = process.env.DJANGO_PYTHON ?? "/usr/bin/python3";
let child: ChildProcess;
let url: string;

beforeAll(async () => {
  child = spawn(PYTHON, ["test/django-origin/server.py"], { env: { ...process.env, DJANGO_ORIGIN_PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
  url = await new Promise<string>((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const found = /http:\/\/127\.0\.0\.1:\d+/.exec(output)?.[0];
      if (found) resolve(found);
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => reject(new Error(`the Django origin exited with ${code}:\n${output}`)));
  });
}, 60_000);

afterAll(() => {
  child.removeAllListeners("exit");
  child.kill("SIGTERM");
});

const authLog = async () => ((await (await fetch(`${url}/__test/auth-log`)).json()) as { events: { event: string; username: string | null; method: string; path: string }[] }).events;
beforeEach(async () => {
  expect((await fetch(`${url}/__test/auth-log/clear`, { method: "POST" })).status).toBe(200);
});

const form = (fields: Record<string, string>) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields), redirect: "manual" as const });

describe("Django origin for the differential tests", () => {
  it("records each password check: the user's name on success, the credentials' name on failure", async () => {
    const ok = await fetch(`${url}/accounts/login/`, form({ username: "alice", password: "alice-correct-pw" }));
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/done/");
    expect(ok.headers.get("set-cookie")).toMatch(/sessionid=/);
    // AuthenticationForm strips with str.strip() (\x1f included) and applies NFKC before checking.
    expect((await fetch(`${url}/accounts/login/`, form({ username: "\x1fＡlice", password: "wrong" }))).status).toBe(200);
    expect((await fetch(`${url}/plain/login/`, form({ username: " bob", password: "wrong" }))).status).toBe(200);
    expect(await authLog()).toEqual([
      { event: "success", username: "alice", method: "POST", path: "/accounts/login/" },
      { event: "failure", username: "Alice", method: "POST", path: "/accounts/login/" },
      { event: "failure", username: " bob", method: "POST", path: "/plain/login/" },
    ]);
  });

  it("authenticates JSON on any method, and forgets the log when cleared", async () => {
    const res = await fetch(`${url}/api/login/`, { method: "PATCH", body: JSON.stringify({ username: "carol", password: "carol-correct-pw" }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ username: "carol" });
    expect((await fetch(`${url}/api/login/`, { method: "POST", body: JSON.stringify({ username: "carol", password: "no" }) })).status).toBe(401);
    expect((await authLog()).map((e) => `${e.method} ${e.event}`)).toEqual(["PATCH success", "POST failure"]);
    await fetch(`${url}/__test/auth-log/clear`, { method: "POST" });
    expect(await authLog()).toEqual([]);
  });

  it("reads a chunked request body, as Django behind a front proxy does", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/api/login/`, { method: "PUT", headers: { "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.write('{"username": "dave", ');
      req.end('"password": "dave-correct-pw"}');
    });
    expect(status).toBe(200);
    expect(await authLog()).toEqual([{ event: "success", username: "dave", method: "PUT", path: "/api/login/" }]);
  });
});
