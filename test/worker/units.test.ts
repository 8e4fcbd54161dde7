import { describe, expect, it } from "vitest";
import { AddressList, parseAddress } from "../../src/client/address";
import { lockoutKeysFor, normaliseUsername } from "../../src/lockout/keys";
import { canonicalPath } from "../../src/login/routes";

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
    expect(await lockoutKeysFor("p", [["ip_address"], ["username"]], client("a&b"))).toEqual([
      "p:lockout:ip_address=192.0.2.1",
      "p:lockout:username=a%26b",
    ]);
    expect(await lockoutKeysFor("p", [["ip_address", "username"]], client("a"))).toEqual(["p:lockout:ip_address=192.0.2.1&username=a"]);
  });

  it("binds an empty username's counter to the client's IP", async () => {
    expect(await lockoutKeysFor("p", [["username"]], client(""))).toEqual(["p:lockout:ip_address=192.0.2.1&username="]);
  });

  it("digests very long usernames and user agents", async () => {
    const [key] = await lockoutKeysFor("p", [["username"]], client("x".repeat(1000)));
    expect(key).toMatch(/^p:lockout:username=sha256\.[0-9a-f]{32}$/);
    const [ua] = await lockoutKeysFor("p", [["user_agent"]], client("a"));
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
  ])("canonicalises %s to %s", (input, output) => {
    expect(canonicalPath(input)).toBe(output);
  });
});
