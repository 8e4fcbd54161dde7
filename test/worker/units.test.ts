import { describe, expect, it } from "vitest";
import { AddressList, groupedAddress, parseAddress } from "../../src/client/address";
import { lockoutKeysFor, normaliseUsername } from "../../src/lockout/keys";
import { cookieSpellings, parseCookieLikeDjango } from "../../src/http/cookies";
import { hashSessionId } from "../../src/sessions/keys";
import { canonicalPath } from "../../src/http/path";

describe("addresses", () => {
  it("canonicalises IPv6 and folds IPv4-mapped addresses", () => {
    expect(parseAddress("2001:DB8:0:0::1")?.text).toBe("2001:db8::1");
    expect(parseAddress("::ffff:192.0.2.1")?.text).toBe("192.0.2.1");
    expect(parseAddress("192.0.2.1")?.version).toBe(4);
    for (const bad of ["", "1.2.3", "01.2.3.4", "999.1.1.1", "zz::1", "1.2.3.4; drop"]) expect(parseAddress(bad)).toBeUndefined();
  });

  it("matches IPv4 and IPv6 CIDR ranges and exact addresses", () => {
    const list = new AddressList(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "::ffff:198.51.100.0/120"]);
    const has = (ip: string) => list.has(parseAddress(ip)!);
    expect(has("10.255.1.2")).toBe(true);
    expect(has("11.0.0.1")).toBe(false);
    expect(has("2001:db8:ffff::1")).toBe(true);
    expect(has("2001:db9::1")).toBe(false);
    expect(has("192.0.2.7")).toBe(true);
    expect(has("192.0.2.8")).toBe(false);
    expect(has("198.51.100.99")).toBe(true);
    expect(has("::ffff:10.1.1.1")).toBe(true);
  });

  it("groups IPv6 addresses by their network, and leaves IPv4 alone", () => {
    expect(groupedAddress(parseAddress("2001:DB8:1:2:3:4:5:6")!, 64)).toBe("2001:db8:1:2::/64");
    expect(groupedAddress(parseAddress("2001:db8:1:2:3:4:5:6")!, 48)).toBe("2001:db8:1::/48");
    expect(groupedAddress(parseAddress("2001:db8:1:2ff:3:4:5:6")!, 56)).toBe("2001:db8:1:200::/56");
    expect(groupedAddress(parseAddress("2001:db8::6")!, 128)).toBe("2001:db8::6");
    expect(groupedAddress(parseAddress("::ffff:192.0.2.1")!, 64)).toBe("192.0.2.1");
    expect(groupedAddress(parseAddress("192.0.2.1")!, 64)).toBe("192.0.2.1");
  });

  it("rejects bad rules", () => {
    for (const bad of ["10.0.0.0/33", "10.0.0.0/", "x/8", "2001:db8::/129", "1.2.3.4/8/9"]) expect(() => new AddressList([bad])).toThrow(TypeError);
  });
});

describe("usernames and keys", () => {
  it("normalises usernames: Python's strip, NFKC, case fold", () => {
    expect(normaliseUsername(" Alice ", false)).toBe("alice");
    for (const space of ["\x1c", "\x1f", "\x85", "\xa0", "\u3000", "\u2028", "\v", "\f"]) {
      expect(normaliseUsername(`${space}alice${space}`, false)).toBe("alice");
    }
    // Python keeps U+FEFF and U+200B: another name, not alice.
    expect(normaliseUsername("alice\ufeff", false)).toBe("alice\ufeff");
    expect(normaliseUsername("alice\u200b", false)).toBe("alice\u200b");
    expect(normaliseUsername("Straße", false)).toBe("strasse");
    expect(normaliseUsername("alıce", false)).toBe("alice");
    expect(normaliseUsername("ＡＬＩＣＥ", false)).toBe("alice");
    expect(normaliseUsername("Ǆ", false)).toBe("dž");
    expect(normaliseUsername(" Alice ", true)).toBe("Alice");
    expect(normaliseUsername(null, false)).toBe("");
  });

  const client = (username: string) => ({ address: parseAddress("192.0.2.1")!, username, userAgent: "ua" });

  it("builds one key per counter", async () => {
    expect(await lockoutKeysFor("p", [["ip_address"], ["username"]], client("a&b"), 64)).toEqual([
      "p:lockout:ip_address=192.0.2.1",
      "p:lockout:username=a%26b",
    ]);
    expect(await lockoutKeysFor("p", [["ip_address", "username"]], client("a"), 64)).toEqual(["p:lockout:ip_address=192.0.2.1&username=a"]);
  });

  it("binds an empty username's counter to the client's IP", async () => {
    expect(await lockoutKeysFor("p", [["username"]], client(""), 64)).toEqual(["p:lockout:ip_address=192.0.2.1&username="]);
  });

  it("keys an IPv6 client by its network", async () => {
    const v6 = { address: parseAddress("2001:db8:1:2::77")!, username: "a", userAgent: "ua" };
    expect(await lockoutKeysFor("p", [["ip_address", "username"]], v6, 64)).toEqual(["p:lockout:ip_address=2001:db8:1:2::/64&username=a"]);
    expect(await lockoutKeysFor("p", [["ip_address"]], v6, 128)).toEqual(["p:lockout:ip_address=2001:db8:1:2::77"]);
  });

  it("digests very long usernames and user agents", async () => {
    const [key] = await lockoutKeysFor("p", [["username"]], client("x".repeat(1000)), 64);
    expect(key).toMatch(/^p:lockout:username=sha256:[0-9a-f]{32}$/);
    const [ua] = await lockoutKeysFor("p", [["user_agent"]], client("a"), 64);
    expect(ua).toMatch(/^p:lockout:user_agent=[0-9a-f]{32}$/);
  });
});

describe("login paths", () => {
  it.each([
    ["/accounts/login/", "/accounts/login"],
    ["/accounts//login", "/accounts/login"],
    ["/Accounts/%6Cogin/", "/accounts/login"],
    ["/accounts/x/../login/", "/accounts/login"],
    ["/accounts/%2E%2E/accounts/login", "/accounts/login"],
    ["/accounts\\login", "/accounts/login"],
    ["/%zz/", "/%zz"],
    ["/%5F_gateway/%zz/health", "/__gateway/%zz/health"],
    ["/%5f%5FGateway/%2e%2E/x", "/x"],
  ])("canonicalises %s to %s", (input, output) => {
    expect(canonicalPath(input)).toBe(output);
  });
});

describe("cookies as Django's parse_cookie reads them", () => {
  // Expected values printed by Python 3 running Django's parse_cookie (http.cookies._unquote, str.strip).
  it.each([
    ["a=1; b=2; a=3", [["a", "3"], ["b", "2"]]],
    ['sessionid="\\\\abc"', [["sessionid", "\\abc"]]],
    ['sessionid="\\141bc\\"x\\\\"', [["sessionid", 'abc"x\\']]],
    ["\u000bsessionid\f=\u001cabc\u001f\u00a0", [["sessionid", "abc"]]],
    ["x; =y; sessionid=\u0085a b\u3000", [["", "y"], ["sessionid", "a b"]]],
    ['k="\\400\\377"', [["k", "400\u00ff"]]],
    ['q="a\\\nb"', [["q", "a\\\nb"]]],
    ['e=""; f="', [["e", ""], ["f", '"']]],
    [' sp = "v" ;', [["sp", "v"]]],
  ])("reads %j", (header, expected) => {
    expect([...parseCookieLikeDjango(header)]).toEqual(expected);
  });

  it("hashes every percent-encoded spelling of a session id as the id", async () => {
    expect(await hashSessionId("%61b%63")).toBe(await hashSessionId("abc"));
    expect(await hashSessionId("s%3Aabc.sig")).toBe(await hashSessionId("s:abc.sig"));
    expect(await hashSessionId("abc")).not.toBe(await hashSessionId("abd"));
  });

  it("finds every spelling of a cookie and keeps the rest", () => {
    expect(cookieSpellings("a=1;sessionid=x ; b=2; sessionid=y", "sessionid")).toEqual({ values: ["x", "y"], ambiguous: 0, rest: "a=1; b=2" });
    expect(cookieSpellings('sessionid="x"; \u001csessionid=y; sessionid\u00a0=z; sessionids=w', "sessionid")).toEqual({ values: [], ambiguous: 3, rest: "sessionids=w" });
    expect(cookieSpellings("sessionid=x", "sessionid")).toEqual({ values: ["x"], ambiguous: 0, rest: null });
    expect(cookieSpellings("sessionid=x, sessionid=y; sessionid=a b; sessionid=s%3Aabc.sig+/=", "sessionid")).toEqual({ values: ["s%3Aabc.sig+/="], ambiguous: 2, rest: null });
  });
});
