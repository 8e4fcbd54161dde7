import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  DEMO_PASSWORD,
  DEMO_USERNAME,
  LOGIN_ERROR_TEXT,
  startDemoOrigin,
  type DemoOrigin,
} from "../../tools/demo-origin/server.ts";

let origin: DemoOrigin;

beforeAll(async () => {
  origin = await startDemoOrigin({ port: 0 });
});

afterAll(async () => {
  await origin.close();
});

beforeEach(() => {
  origin.resetStats();
});

function call(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${origin.url}${path}`, { redirect: "manual", ...init });
}

function postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, { method: "POST", body: new URLSearchParams(fields), headers });
}

function postJson(path: string, body: unknown): Promise<Response> {
  return call(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

function sessionCookie(response: Response): string {
  const cookie = response.headers.get("set-cookie") ?? "";
  expect(cookie).toMatch(/^sessionid=[0-9a-f]{32}; HttpOnly; Path=\/; SameSite=Lax$/);
  return cookie.split(";")[0] ?? "";
}

const goodForm = { username: DEMO_USERNAME, password: DEMO_PASSWORD };

describe("form login (Django semantics)", () => {
  it("redirects to the profile with a session cookie for the demo user", async () => {
    const response = await postForm("/accounts/login/", goodForm);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/accounts/profile/");
    sessionCookie(response);
  });

  it("re-renders the form with Django's error for a wrong password", async () => {
    const response = await postForm("/admin/login/", { username: DEMO_USERNAME, password: "nope" });
    expect(response.status).toBe(200);
    expect(response.headers.get("set-cookie")).toBeNull();
    const html = await response.text();
    expect(html).toContain(LOGIN_ERROR_TEXT);
    expect(html).toContain('name="password"');
    expect(html).toContain('action="/admin/login/"');
  });

  it("treats missing fields as wrong credentials", async () => {
    const response = await postForm("/accounts/login/", {});
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(LOGIN_ERROR_TEXT);
  });

  it("accepts multipart/form-data", async () => {
    const form = new FormData();
    form.set("username", DEMO_USERNAME);
    form.set("password", DEMO_PASSWORD);
    const response = await call("/accounts/login/", { method: "POST", body: form });
    expect(response.status).toBe(302);
    sessionCookie(response);
  });

  it("matches the username case-insensitively after trimming", async () => {
    const response = await postForm("/accounts/login/", { username: "  DeMo ", password: DEMO_PASSWORD });
    expect(response.status).toBe(302);
  });

  it("follows a same-site next and ignores one pointing elsewhere", async () => {
    const local = await postForm("/accounts/login/?next=/admin/", goodForm);
    expect(local.headers.get("location")).toBe("/admin/");
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const offsite = await postForm("/accounts/login/", { ...goodForm, next });
      expect(offsite.headers.get("location")).toBe("/accounts/profile/");
    }
  });

  it("serves the login form on GET", async () => {
    for (const path of ["/accounts/login/", "/admin/login/"]) {
      const response = await call(path);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain('name="username"');
      expect(html).not.toContain(LOGIN_ERROR_TEXT);
    }
  });
});

describe("sessions", () => {
  it("requires a session for the profile and shows the user with one", async () => {
    const anonymous = await call("/accounts/profile/");
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toBe("/accounts/login/?next=%2Faccounts%2Fprofile%2F");

    const cookie = sessionCookie(await postForm("/accounts/login/", goodForm));
    const profile = await call("/accounts/profile/", { headers: { cookie } });
    expect(profile.status).toBe(200);
    expect(await profile.text()).toContain(`Logged in as <strong>${DEMO_USERNAME}</strong>`);

    const home = await call("/", { headers: { cookie } });
    expect(await home.text()).toContain("Logged in as");
  });

  it("ends the session on logout", async () => {
    const cookie = sessionCookie(await postForm("/accounts/login/", goodForm));
    const logout = await call("/accounts/logout/", { method: "POST", headers: { cookie } });
    expect(logout.status).toBe(302);
    expect(logout.headers.get("location")).toBe("/");
    expect(logout.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await call("/accounts/profile/", { headers: { cookie } })).status).toBe(302);
  });

  it("shows the client-IP headers it received on the home page", async () => {
    const html = await (await call("/", { headers: { "x-forwarded-for": "203.0.113.7", "x-real-ip": "203.0.113.7" } })).text();
    expect(html).toContain('<dd id="x-forwarded-for">203.0.113.7</dd>');
    expect(html).toContain('<dd id="x-real-ip">203.0.113.7</dd>');
    expect(html).toContain(DEMO_PASSWORD);
  });
});

describe("JSON and header-signalled logins", () => {
  it("answers 200 with a session for the demo user", async () => {
    const response = await postJson("/api/login/", goodForm);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, username: DEMO_USERNAME });
    sessionCookie(response);
  });

  it("answers 401 for wrong credentials", async () => {
    const response = await postJson("/api/login/", { username: DEMO_USERNAME, password: "wrong" });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ ok: false, error: "invalid credentials" });
  });

  it("answers 400 for malformed JSON", async () => {
    for (const body of ["{not json", "[1,2]", '"demo"']) {
      const response = await call("/api/login/", { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(response.status).toBe(400);
    }
  });

  it("always answers 200 on /api/signin/ and reports the outcome in X-Login-Result", async () => {
    const jsonOk = await postJson("/api/signin/", goodForm);
    const jsonBad = await postJson("/api/signin/", { username: DEMO_USERNAME, password: "wrong" });
    const formOk = await postForm("/api/signin/", goodForm);
    const malformed = await call("/api/signin/", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect([jsonOk.status, jsonBad.status, formOk.status, malformed.status]).toEqual([200, 200, 200, 200]);
    expect(jsonOk.headers.get("x-login-result")).toBe("success");
    expect(jsonBad.headers.get("x-login-result")).toBe("failure");
    expect(formOk.headers.get("x-login-result")).toBe("success");
    expect(malformed.headers.get("x-login-result")).toBe("failure");
    expect(await jsonOk.text()).toBe(await jsonBad.text());
  });
});

describe("stats", () => {
  it("counts requests and login POSTs by path, and keeps the last login's headers", async () => {
    await call("/");
    await postForm("/accounts/login/", { username: "x", password: "y" }, { "X-Forwarded-For": "198.51.100.1" });
    await postForm("/accounts/login/", goodForm);
    await postJson("/api/login/", goodForm);
    await postJson("/api/signin/", goodForm);
    await call("/admin/login/");

    const stats = origin.stats();
    expect(stats.requests).toBe(6);
    expect(stats.loginAttempts).toEqual({ "/accounts/login/": 2, "/api/login/": 1, "/api/signin/": 1 });
    expect(stats.lastLoginHeaders?.["content-type"]).toBe("application/json");

    const overHttp = await (await call("/__origin/stats")).json();
    expect(overHttp).toEqual(stats);
  });

  it("records login headers with lowercased names", async () => {
    await postForm("/admin/login/", goodForm, { "X-Forwarded-For": "198.51.100.1" });
    expect(origin.stats().lastLoginHeaders?.["x-forwarded-for"]).toBe("198.51.100.1");
  });

  it("resets through the API and over HTTP", async () => {
    await postForm("/accounts/login/", goodForm);
    origin.resetStats();
    expect(origin.stats()).toEqual({ requests: 0, loginAttempts: {}, lastLoginHeaders: null });

    await postForm("/accounts/login/", goodForm);
    const reset = await call("/__origin/stats/reset", { method: "POST" });
    expect(reset.status).toBe(200);
    expect(origin.stats()).toEqual({ requests: 0, loginAttempts: {}, lastLoginHeaders: null });
  });
});

describe("test helpers under /__origin/", () => {
  it("echoes method, path, query, headers and the exact body bytes", async () => {
    const body = new Uint8Array(256).map((_, i) => i);
    const response = await call("/__origin/echo?b=2&a=%20x&a=1", {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "X-Custom": "Value" },
      body,
    });
    const echoed = (await response.json()) as Record<string, unknown> & { headers: Record<string, string> };
    expect(echoed).toMatchObject({ method: "PUT", path: "/__origin/echo", query: "b=2&a=%20x&a=1", bodyLength: 256 });
    expect(echoed.bodyBase64).toBe(Buffer.from(body).toString("base64"));
    expect(echoed.headers["x-custom"]).toBe("Value");
    expect(echoed.headers["content-length"]).toBe("256");
  });

  it("streams chunks as they are written", async () => {
    const response = await call("/__origin/stream?chunks=4&delayMs=80");
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const reads: string[] = [];
    for (let read = await reader.read(); !read.done; read = await reader.read()) reads.push(decoder.decode(read.value));
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(reads.join("")).toBe("chunk 1/4\nchunk 2/4\nchunk 3/4\nchunk 4/4\n");
  });

  it("hashes a streamed upload", async () => {
    const parts = [randomBytes(700_000), randomBytes(1), randomBytes(1_500_000)];
    const expected = createHash("sha256");
    for (const part of parts) expected.update(part);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    });
    const response = await call("/__origin/upload", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(await response.json()).toEqual({ bytes: 2_200_001, sha256: expected.digest("hex") });
  });

  it("waits before answering on /slow", async () => {
    const started = performance.now();
    const response = await call("/__origin/slow?ms=150");
    expect(await response.text()).toBe("slow");
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect((await call("/__origin/slow?ms=abc")).status).toBe(400);
  });

  it("answers any status asked for, and redirects home", async () => {
    expect((await call("/__origin/status/503")).status).toBe(503);
    expect((await call("/__origin/status/204")).status).toBe(204);
    expect((await call("/__origin/status/99")).status).toBe(400);
    const redirect = await call("/__origin/redirect");
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/");
  });

  it("answers 404 for unknown paths and 405 for a known path with the wrong method", async () => {
    expect((await call("/nope")).status).toBe(404);
    const wrongMethod = await call("/accounts/logout/");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
  });
});
