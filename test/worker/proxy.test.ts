import { describe, expect, it } from "vitest";
import { bindings, gatewayWith, nextIp } from "./helpers";

interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  bodyBase64: string;
  bodyLength: number;
}

describe("reverse proxy to ORIGIN_URL", () => {
  it("forwards method, path, query, headers and the exact body bytes", async () => {
    const gw = gatewayWith();
    const body = new Uint8Array([0, 1, 2, 250, 255, 10, 13]);
    const res = await gw.request("/__origin/echo?a=1&b=%20x", {
      method: "PUT",
      ip: "198.51.100.200",
      headers: { "x-custom": "yes", "content-type": "application/octet-stream" },
      body,
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(echo).toMatchObject({ method: "PUT", path: "/__origin/echo", query: "a=1&b=%20x", bodyLength: body.length });
    expect(Uint8Array.from(atob(echo.bodyBase64), (c) => c.charCodeAt(0))).toEqual(body);
    expect(echo.headers["x-custom"]).toBe("yes");
  });

  it("tells the origin the trusted client address, never the client's own claims", async () => {
    const gw = gatewayWith();
    const res = await gw.request("/__origin/echo", {
      ip: "2001:DB8::7",
      headers: { "x-forwarded-for": "6.6.6.6", "x-real-ip": "6.6.6.6", "x-forwarded-proto": "gopher", forwarded: "for=6.6.6.6" },
    });
    const { headers } = (await res.json()) as Echo;
    expect(headers["x-forwarded-for"]).toBe("6.6.6.6, 2001:db8::7");
    expect(headers["x-real-ip"]).toBe("2001:db8::7");
    expect(headers["x-forwarded-proto"]).toBe("https");
    expect(headers["x-forwarded-host"]).toBe("gateway.test");
    expect(headers.forwarded).toBeUndefined();
  });

  it("sends only the trusted address with FORWARDED_FOR=replace", async () => {
    const gw = gatewayWith({ FORWARDED_FOR: "replace" });
    const res = await gw.request("/__origin/echo", { ip: "192.0.2.5", headers: { "x-forwarded-for": "6.6.6.6" } });
    expect(((await res.json()) as Echo).headers["x-forwarded-for"]).toBe("192.0.2.5");
  });

  it("strips the standard hop-by-hop headers; a header the client names in Connection reaches the origin", async () => {
    const gw = gatewayWith();
    const res = await gw.request("/__origin/echo", {
      ip: nextIp(),
      headers: { connection: "x-secret-hop", "x-secret-hop": "1", "keep-alive": "timeout=5", te: "trailers", trailer: "x-t", upgrade: "h2c", "proxy-authorization": "Basic eDp5" },
    });
    const { headers } = (await res.json()) as Echo;
    for (const name of ["connection", "keep-alive", "te", "trailer", "upgrade", "proxy-authorization"]) expect(headers[name], name).toBeUndefined();
    // hono/proxy's documented default (strictConnectionProcessing off): the header named in Connection
    // is forwarded. Its strict mode would let a client name X-Forwarded-For or the origin-secret header
    // and strip what the gateway adds; README "How a request flows" states this.
    expect(headers["x-secret-hop"]).toBe("1");
  });

  it("streams the origin's response through", async () => {
    const gw = gatewayWith();
    const res = await gw.request("/__origin/stream?chunks=4&delayMs=30", { ip: nextIp() });
    const reader = res.body!.getReader();
    let text = "";
    let reads = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += new TextDecoder().decode(value);
    }
    expect(text).toBe("chunk 1/4\nchunk 2/4\nchunk 3/4\nchunk 4/4\n");
    expect(reads).toBeGreaterThan(1);
  });

  it("streams a request body to the origin unchanged", async () => {
    const gw = gatewayWith();
    const size = 3 * 1024 * 1024;
    const data = new Uint8Array(size).map((_, i) => (i * 7) % 256);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < size; offset += 65536) controller.enqueue(data.subarray(offset, offset + 65536));
        controller.close();
      },
    });
    const res = await gw.request("/__origin/upload", { method: "POST", ip: nextIp(), body: stream, headers: { "content-type": "application/octet-stream" } });
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)), (b) => b.toString(16).padStart(2, "0")).join("");
    expect(await res.json()).toEqual({ bytes: size, sha256: digest });
  });

  it("passes redirects to the client instead of following them", async () => {
    const gw = gatewayWith();
    const res = await gw.request("/__origin/redirect", { ip: nextIp() });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/");
  });

  it("removes X-Login-Result from ordinary responses too", async () => {
    const gw = gatewayWith({ LOGIN_ROUTES: "[]" });
    const res = await gw.request("/api/signin/", { method: "POST", ip: nextIp(), headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.headers.get("x-login-result")).toBeNull();
  });

  it("answers 504 with a short body when the origin is slower than ORIGIN_TIMEOUT", async () => {
    const gw = gatewayWith({ ORIGIN_TIMEOUT: "200ms" });
    const res = await gw.request("/__origin/slow?ms=2000", { ip: nextIp() });
    expect(res.status).toBe(504);
    expect(await res.text()).toMatch(/^Gateway Timeout/);
  });

  it("answers 502 when the origin cannot be reached", async () => {
    const gw = gatewayWith({ ORIGIN_URL: "http://127.0.0.1:9" });
    const res = await gw.request("/", { ip: nextIp() });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toMatch(/^Bad Gateway/);
    expect(text).not.toMatch(/at |Error:/);
  });

  it("passes a login through to the origin's own answer when the origin errors", async () => {
    const gw = gatewayWith({ ORIGIN_URL: "http://127.0.0.1:9", AXES_FAILURE_LIMIT: "1" });
    const ip = nextIp();
    // Unknown outcomes are not failures: three 502s never lock the client.
    for (let i = 0; i < 3; i++) {
      const res = await gw.request("/api/login/", { method: "POST", ip, headers: { "content-type": "application/json" }, body: '{"username":"z"}' });
      expect(res.status).toBe(502);
    }
  });

  it("points at the origin under a base path", async () => {
    const gw = gatewayWith({ ORIGIN_URL: `${bindings.TEST_ORIGIN_URL}/__origin` });
    const res = await gw.request("/echo?x=1", { ip: nextIp() });
    expect(((await res.json()) as Echo).path).toBe("/__origin/echo");
  });
});
