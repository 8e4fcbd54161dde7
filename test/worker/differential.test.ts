/**
 * Differential tests against a real Django origin (issue 9): for each class of request that the
 * gateway and Django could read differently, a locked username's correct password, sent from a fresh
 * IP in that shape, must not log the user in. Django's own auth signals say what it checked; the
 * gateway must refuse the shape (4xx) or count it as the name Django reads (and so refuse it as locked).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { type Charset, concatBytes, disposition, encodeText, fieldPart, multipartBody, urlencodedBody, utf8Urlencoded } from "./django-bodies";
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

/** A gateway where alice is locked; the auth log holds only what comes next. */
async function aliceLocked(): Promise<TestGateway> {
  const gw = djangoGateway();
  await lockUser(gw, "alice");
  await clearAuthLog();
  return gw;
}

/**
 * Sends a bypass shape for locked alice and asserts the outcome the issue asks for: Django logged
 * nobody in as alice, and the gateway answered with a 4xx (a refusal or the lockout).
 */
async function expectRefused(gw: TestGateway, path: DjangoPath | `${DjangoPath}?${string}`, init: { method?: string; headers?: Record<string, string>; body?: BodyInit }): Promise<void> {
  const res = await gw.request(path, { method: "POST", ...init, ip: nextIp() });
  const answer = `${res.status} ${(await res.text()).slice(0, 120)}`;
  const events = await authLog();
  expect(successesIn(events), `Django logged in alice (gateway answered ${answer})`).not.toContain("alice");
  expect(res.status, `gateway answered ${answer}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `gateway answered ${answer}`).toBeLessThan(500);
}

describe("the harness (these pass before and after the fix)", () => {
  it("lets an unlocked user's canonical login through to Django, which logs the user in", async () => {
    const gw = djangoGateway();
    for (const path of ["/accounts/login/", "/plain/login/"] as const) {
      const res = await gw.request(path, canonicalForm("carol", USERS.carol, nextIp()));
      expect(res.status).toBe(302);
      expect(res.headers.get("set-cookie")).toContain("sessionid=");
    }
    const json = await gw.request("/api/login/", {
      method: "POST",
      ip: nextIp(),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "dave", password: USERS.dave }),
    });
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
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", canonicalForm("alice", USERS.alice, nextIp()));
    expect(await authLog()).toEqual([]);
  });
});

describe("1. methods the route does not list", () => {
  it.each(["PUT", "PATCH", "DELETE", "OPTIONS"])("%s on the JSON login view (which authenticates on any method)", async (method) => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/api/login/", {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: USERS.alice }),
    });
  });
});

describe("2. charsets other than UTF-8", () => {
  const CHARSETS: Charset[] = ["utf-7", "utf-16", "cp500"];

  it.each(CHARSETS)("urlencoded; charset=%s to Django's LoginView", async (charset) => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", {
      headers: { "content-type": `${FORM}; charset=${charset}` },
      body: urlencodedBody(
        [
          ["username", "alice"],
          ["password", USERS.alice],
        ],
        charset,
      ),
    });
  });

  it("urlencoded; charset=utf-7 with the username in a shift sequence, to the plain form view", async () => {
    // "alice" written as +AGEAbABpAGMAZQ-: a UTF-8 reader sees " AGEAbABpAGMAZQ-" ('+' is a space).
    const gw = await aliceLocked();
    await expectRefused(gw, "/plain/login/", {
      headers: { "content-type": `${FORM}; charset=utf-7` },
      body: `username=+AGEAbABpAGMAZQ-&password=${USERS.alice}`,
    });
  });

  it.each(CHARSETS)("multipart/form-data; charset=%s (names and values in the charset)", async (charset) => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", {
      headers: { "content-type": `${MULTIPART}; charset=${charset}` },
      body: multipartBody(BOUNDARY, [
        fieldPart("username", "alice", charset),
        fieldPart("password", USERS.alice, charset),
      ]),
    });
  });

  it("multipart; charset=utf-7 with the username value in a shift sequence", async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", {
      headers: { "content-type": `${MULTIPART}; charset=utf-7` },
      body: multipartBody(BOUNDARY, [
        { headers: [disposition(encodeText("username", "utf-8"))], content: encodeText("+AGEAbABpAGMAZQ-", "utf-8") },
        fieldPart("password", USERS.alice),
      ]),
    });
  });
});

describe("3. multipart layouts Django's MultiPartParser reads differently", () => {
  const password = fieldPart("password", USERS.alice);

  it("Content-Transfer-Encoding: base64 on the username part", async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", {
      headers: { "content-type": MULTIPART },
      body: multipartBody(BOUNDARY, [
        { headers: [disposition(encodeText("username", "utf-8")), encodeText("Content-Transfer-Encoding: base64", "utf-8")], content: encodeText(btoa("alice"), "utf-8") },
        password,
      ]),
    });
  });

  it('a field name with spaces around it (name=" username ")', async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", {
      headers: { "content-type": MULTIPART },
      body: multipartBody(BOUNDARY, [fieldPart(" username ", "alice"), password]),
    });
  });

  it("two Content-Disposition headers in one part (Django keeps the last)", async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", {
      headers: { "content-type": MULTIPART },
      body: multipartBody(BOUNDARY, [
        { headers: [disposition(encodeText("nickname", "utf-8")), disposition(encodeText("username", "utf-8"))], content: encodeText("alice", "utf-8") },
        password,
      ]),
    });
  });

  it("the username part after the closing delimiter", async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", {
      headers: { "content-type": MULTIPART },
      body: multipartBody(BOUNDARY, [password], { afterClose: [fieldPart("username", "alice")] }),
    });
  });
});

describe("4. a body that is not the declared type", () => {
  it("a JSON body sent as application/x-www-form-urlencoded to the JSON view", async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/api/login/", {
      headers: { "content-type": FORM },
      body: JSON.stringify({ username: "alice", password: USERS.alice }),
    });
  });
});

describe("5. username whitespace Python strips and JavaScript's trim() keeps", () => {
  it.each([
    ["\\x1f", "\x1f"],
    ["\\x85", "\x85"],
    ["\\u3000", "\u3000"],
  ])("alice%s to Django's LoginView (AuthenticationForm strips with str.strip())", async (_, space) => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/accounts/login/", {
      headers: { "content-type": FORM },
      body: utf8Urlencoded([
        ["username", `alice${space}`],
        ["password", USERS.alice],
      ]),
    });
  });
});

describe("duplicate username fields and the username in the query string", () => {
  it("username given twice in a urlencoded body (Django takes the last)", async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/plain/login/", {
      headers: { "content-type": FORM },
      body: utf8Urlencoded([
        ["username", "carol"],
        ["username", "alice"],
        ["password", USERS.alice],
      ]),
    });
  });

  it("username given twice in a multipart body", async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/plain/login/", {
      headers: { "content-type": MULTIPART },
      body: multipartBody(BOUNDARY, [fieldPart("username", "carol"), fieldPart("username", "alice"), fieldPart("password", USERS.alice)]),
    });
  });

  it("username in the query string and in the body, to a view that reads the query string first", async () => {
    const gw = await aliceLocked();
    await expectRefused(gw, "/query-first/login/?username=alice", {
      headers: { "content-type": FORM },
      body: utf8Urlencoded([
        ["username", "carol"],
        ["password", USERS.alice],
      ]),
    });
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

describe("the Django origin reads these shapes as alice (so each test above is a real bypass when proxied)", () => {
  // Straight to Django, no gateway: each shape must log alice in, or the tests above prove nothing.
  const django = async (path: string, contentType: string, body: BodyInit, method = "POST") => {
    const res = await fetch(`${bindings.TEST_DJANGO_URL}${path}`, { method, headers: { "content-type": contentType }, body, redirect: "manual" });
    await res.body?.cancel();
    return successesIn(await authLog());
  };

  it.each([
    ["utf-16 urlencoded", FORM + "; charset=utf-16", urlencodedBody([["username", "alice"], ["password", USERS.alice]], "utf-16")],
    ["cp500 multipart", `${MULTIPART}; charset=cp500`, multipartBody(BOUNDARY, [fieldPart("username", "alice", "cp500"), fieldPart("password", USERS.alice, "cp500")])],
    ["two Content-Disposition headers", MULTIPART, multipartBody(BOUNDARY, [{ headers: [disposition(encodeText("nickname", "utf-8")), disposition(encodeText("username", "utf-8"))], content: concatBytes("alice") }, fieldPart("password", USERS.alice)])],
    ["a part after the closing delimiter", MULTIPART, multipartBody(BOUNDARY, [fieldPart("password", USERS.alice)], { afterClose: [fieldPart("username", "alice")] })],
  ])("%s", async (_, contentType, body) => {
    expect(await django("/accounts/login/", contentType, body)).toEqual(["alice"]);
  });
});
