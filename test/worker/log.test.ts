import { afterEach, describe, expect, it } from "vitest";
import { logEvent, maskUsername, recordDecisionsIn } from "../../src/http/log";

afterEach(() => recordDecisionsIn(null));

describe("decision log and Analytics Engine datapoints", () => {
  it("writes one datapoint per security decision, none for other lines", () => {
    const points: unknown[] = [];
    recordDecisionsIn({ writeDataPoint: (point) => points.push(point) });
    const quiet = console.info;
    const warn = console.warn;
    console.info = console.warn = () => {};
    try {
      logEvent("lockout", { ip: "192.0.2.1", path: "/accounts/login/", failures: 3, retry_after: 1800 }, "warn");
      logEvent("login_attempt", { ip: "192.0.2.1" });
    } finally {
      console.info = quiet;
      console.warn = warn;
    }
    expect(points).toEqual([{ indexes: ["lockout"], blobs: ["lockout", "/accounts/login/", "", "192.0.2.1", ""], doubles: [3, 1800] }]);
  });

  it("masks usernames as axes' SENSITIVE_PARAMETERS would", () => {
    expect(maskUsername("alice")).toBe("a***e");
    expect(maskUsername("ab")).toBe("**");
    expect(maskUsername("")).toBe("");
  });
});
