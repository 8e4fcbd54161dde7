/**
 * Differential tests against a real Django origin (issue 9): for each class of request that the
 * gateway and Django could read differently, a locked username's correct password, sent from a fresh
 * IP in that shape, must not log the user in. Django's own auth signals say what it checked; the
 * gateway must refuse the shape (4xx) or count it as the name Django reads (and so refuse it as locked).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { type Charset, disposition, encodeText, fieldPart, multipartBody, urlencodedBody, utf8Urlencoded } from "./django-bodies";
import {
  type DjangoPath,
  FAILURE_LIMIT,
  USERS,
  authLog,
  canonicalForm,
  clearAuthLog,
  djangoGateway,
  failUser,
  failuresOf,
  lockUser,
  successesIn,
} from "./django";
import { type TestGateway, bindings, nextIp } from "./helpers";

const BOUNDARY = "diffBoundary7MA4YWxk";
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;
const FORM = "application/x-www-form-urlencoded";

beforeEach(clearAuthLog);

describe("the harness (these pass before and after the fix)", () => {
  it("lets an unlocked user's canonical login through to Django, which logs the user in", async () => {
    const gw = djangoGateway();
    for (const path of ["/accounts/login/", "/plain/login/"] as const) {
      const res = await gw.request(path, canonicalForm("carol", USERS.carol, nextIp()));
      expect(res.status).toBe(302);
      expect(res.headers.get("set-cookie")).toContain("sessionid=");
    }
    const json = await gw.request("/api/login/", { method: "POST", ip: nextIp(), headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "dave", password: USERS.dave }) });
    expect(json.status).toBe(200);
    expect(await authLog()).toEqual([
      { event: "success", username: "carol", method: "POST", path: "/accounts/login/" },
      { event: "success", username: "carol", method: "POST", path: "/plain/login/" },
      { event: "success", username: "dave", method: "POST", path: "/api/login/" },
    ]);
  });

  it("counts each wrong password Django checks and locks at the limit", async () => {
    const gw = djangoGateway();
    expect(await failUser(gw, "bob", FAILURE_LIMIT)).toEqual([200, 200, 429]);
    expect((await authLog()).map((e) => `${e.event}:${e.username}`)).toEqual(["failure:bob", "failure:bob", "failure:bob"]);
    expect(await failuresOf(gw, "bob")).toBe(FAILURE_LIMIT);
  });

  it("refuses the canonical login of a locked user without asking Django", async () => {
    const gw = djangoGateway();
    await lockUser(gw, "alice");
    await clearAuthLog();
    const res = await gw.request("/accounts/login/", canonicalForm("alice", USERS.alice, nextIp()));
    expect(res.status).toBe(429);
    expect(await authLog()).toEqual([]);
  });
});

/** A request shape carrying locked alice's correct password, written so that a reader could see another name. */
interface Shape {
  readonly name: string;
  readonly path: `${DjangoPath}` | `${DjangoPath}?${string}`;
  readonly method?: string;
  readonly contentType: string;
  readonly body: string | Uint8Array;
}

const urlencoded = (username: string, charset: Charset = "utf-8") => {
  const fields = [
    ["username", username],
    ["password", USERS.alice],
  ] as const;
  return charset === "utf-8" ? utf8Urlencoded(fields) : urlencodedBody(fields, charset);
};
const text = (value: string) => encodeText(value, "utf-8");
const password = fieldPart("password", USERS.alice);
const aliceJson = JSON.stringify({ username: "alice", password: USERS.alice });
// "alice" in UTF-7: a UTF-8 reader sees "+AGEAbABpAGMAZQ-" (and, urlencoded, '+' as a space).
const ALICE_UTF7 = "+AGEAbABpAGMAZQ-";

/** Issue 9's bypass classes 1-5 and the duplicate / query-string shapes. */
const SHAPES: Record<string, Shape[]> = {
  "1. methods the route does not list": ["PUT", "PATCH", "DELETE", "OPTIONS"].map((method) => ({
    name: `${method} on the JSON login view (which authenticates on any method)`,
    path: "/api/login/",
    method,
    contentType: "application/json",
    body: aliceJson,
  })),
  "2. charsets other than UTF-8": [
    ...(["utf-7", "utf-16", "cp500"] as const).map((charset) => ({
      name: `urlencoded; charset=${charset} to Django's LoginView`,
      path: "/accounts/login/" as const,
      contentType: `${FORM}; charset=${charset}`,
      body: urlencoded("alice", charset),
    })),
    { name: "urlencoded; charset=utf-7 with the username in a shift sequence, to the plain form view", path: "/plain/login/", contentType: `${FORM}; charset=utf-7`, body: `username=${ALICE_UTF7}&password=${USERS.alice}` },
    ...(["utf-7", "utf-16", "cp500"] as const).map((charset) => ({
      name: `multipart/form-data; charset=${charset} (names and values in the charset)`,
      path: "/accounts/login/" as const,
      contentType: `${MULTIPART}; charset=${charset}`,
      body: multipartBody(BOUNDARY, [fieldPart("username", "alice", charset), fieldPart("password", USERS.alice, charset)]),
    })),
    {
      name: "multipart; charset=utf-7 with the username value in a shift sequence",
      path: "/accounts/login/",
      contentType: `${MULTIPART}; charset=utf-7`,
      body: multipartBody(BOUNDARY, [{ headers: [disposition(text("username"))], content: text(ALICE_UTF7) }, password]),
    },
  ],
  "3. multipart layouts Django's MultiPartParser reads differently": [
    {
      name: "Content-Transfer-Encoding: base64 on the username part",
      path: "/accounts/login/",
      contentType: MULTIPART,
      body: multipartBody(BOUNDARY, [{ headers: [disposition(text("username")), text("Content-Transfer-Encoding: base64")], content: text(btoa("alice")) }, password]),
    },
    { name: 'a field name with spaces around it (name=" username ")', path: "/accounts/login/", contentType: MULTIPART, body: multipartBody(BOUNDARY, [fieldPart(" username ", "alice"), password]) },
    {
      name: "two Content-Disposition headers in one part (Django keeps the last)",
      path: "/accounts/login/",
      contentType: MULTIPART,
      body: multipartBody(BOUNDARY, [{ headers: [disposition(text("nickname")), disposition(text("username"))], content: text("alice") }, password]),
    },
    { name: "the username part after the closing delimiter", path: "/accounts/login/", contentType: MULTIPART, body: multipartBody(BOUNDARY, [password], { afterClose: [fieldPart("username", "alice")] }) },
  ],
  "4. a body that is not the declared type": [{ name: "a JSON body sent as application/x-www-form-urlencoded to the JSON view", path: "/api/login/", contentType: FORM, body: aliceJson }],
  "5. username whitespace Python strips and JavaScript's trim() keeps": [
    ["\\x1f", "\x1f"],
    ["\\x85", "\x85"],
    ["\\u3000", "\u3000"],
  ].map(([label, space]) => ({ name: `alice${label} to Django's LoginView (AuthenticationForm strips with str.strip())`, path: "/accounts/login/", contentType: FORM, body: urlencoded(`alice${space}`) })),
  "duplicate username fields and the username in the query string": [
    {
      name: "username given twice in a urlencoded body (Django takes the last)",
      path: "/plain/login/",
      contentType: FORM,
      body: utf8Urlencoded([
        ["username", "carol"],
        ["username", "alice"],
        ["password", USERS.alice],
      ]),
    },
    { name: "username given twice in a multipart body", path: "/plain/login/", contentType: MULTIPART, body: multipartBody(BOUNDARY, [fieldPart("username", "carol"), fieldPart("username", "alice"), password]) },
    { name: "username in the query string and in the body, to a view that reads the query string first", path: "/query-first/login/?username=alice", contentType: FORM, body: urlencoded("carol") },
    {
      name: "username only in the query string, to a view that reads the query string first",
      path: "/query-first/login/?username=alice",
      contentType: FORM,
      body: utf8Urlencoded([["password", USERS.alice]]),
    },
  ],
};

describe("each shape, sent straight to Django, logs alice in (so proxying it unchanged is a bypass)", () => {
  it.each(Object.values(SHAPES).flat().map((shape) => [shape.name, shape] as const))("%s", async (_, shape) => {
    const res = await fetch(`${bindings.TEST_DJANGO_URL}${shape.path}`, { method: shape.method ?? "POST", headers: { "content-type": shape.contentType }, body: shape.body, redirect: "manual" });
    await res.body?.cancel();
    expect(successesIn(await authLog())).toEqual(["alice"]);
  });
});

describe.each(Object.entries(SHAPES))("%s", (_, shapes) => {
  it.each(shapes.map((shape) => [shape.name, shape] as const))("%s: refused for locked alice, never logged in", async (_, shape) => {
    const gw = djangoGateway();
    await lockUser(gw, "alice");
    await clearAuthLog();
    const res = await gw.request(shape.path, { method: shape.method ?? "POST", headers: { "content-type": shape.contentType }, body: shape.body, ip: nextIp() });
    const answer = `${res.status} ${(await res.text()).slice(0, 120)}`;
    // The gateway must refuse the shape (4xx), or read alice as Django does and refuse her as locked.
    expect(successesIn(await authLog()), `Django logged in alice (gateway answered ${answer})`).not.toContain("alice");
    expect(res.status, `gateway answered ${answer}`).toBeGreaterThanOrEqual(400);
    expect(res.status, `gateway answered ${answer}`).toBeLessThan(500);
  });
});

describe("6 and 10. someone else's success must not reset the victim's counters (AXES_RESET_ON_SUCCESS)", () => {
  /** A gateway resetting on success where alice (the victim) has one failure short of the lock. */
  async function victimNearlyLocked(): Promise<TestGateway> {
    const gw = djangoGateway({ AXES_RESET_ON_SUCCESS: "true" });
    expect(await failUser(gw, "alice", FAILURE_LIMIT - 1)).toEqual([200, 200]);
    expect(await failuresOf(gw, "alice")).toBe(FAILURE_LIMIT - 1);
    return gw;
  }

  /** The victim's next wrong password must still lock: the counters were not reset. */
  async function expectVictimStillCounted(gw: TestGateway): Promise<void> {
    expect(await failuresOf(gw, "alice"), "alice's failures after the attacker's request").toBeGreaterThanOrEqual(FAILURE_LIMIT - 1);
    expect(await failUser(gw, "alice", 1)).toEqual([429]);
  }

  it("6. a multipart body where the gateway reads username=alice and Django the attacker's own account", async () => {
    const gw = await victimNearlyLocked();
    await clearAuthLog();
    const res = await gw.request("/accounts/login/", {
      method: "POST",
      ip: nextIp(),
      headers: { "content-type": MULTIPART },
      body: multipartBody(BOUNDARY, [fieldPart("username", "alice"), fieldPart(" username ", "carol"), fieldPart("password", USERS.carol)]),
    });
    await res.body?.cancel();
    const events = await authLog();
    // Either the gateway refused the shape, or Django checked only what the gateway counted.
    if (events.length > 0) expect(events.map((e) => e.username), "the users Django checked, when the gateway counted alice").toEqual(["alice"]);
    await expectVictimStillCounted(gw);
  });

  it("10. LoginView(redirect_authenticated_user=True) answers 302 to the attacker's own session", async () => {
    const gw = await victimNearlyLocked();
    const attackerIp = nextIp();
    const own = await gw.request("/accounts/login-redirect/", canonicalForm("carol", USERS.carol, attackerIp));
    expect(own.status).toBe(302);
    const session = /sessionid=[^;]+/.exec(own.headers.get("set-cookie") ?? "")?.[0];
    expect(session, "the attacker's own session cookie").toBeDefined();
    await clearAuthLog();
    for (let guess = 0; guess < 5; guess++) {
      const res = await gw.request("/accounts/login-redirect/", canonicalForm("alice", `guess-${guess}`, attackerIp, { cookie: session! }));
      await res.body?.cancel();
    }
    // Django checked no password at all: it redirected a signed-in client.
    expect(await authLog()).toEqual([]);
    await expectVictimStillCounted(gw);
  });
});
