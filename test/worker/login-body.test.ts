import { describe, expect, it } from "vitest";
import { readLoginBody } from "../../src/login/body";
import type { BodyKind } from "../../src/login/routes";

const ALL: BodyKind[] = ["form", "multipart", "json"];
const post = (body: BodyInit | null, type?: string, headers: Record<string, string> = {}) =>
  new Request("https://x/", { method: "POST", body, headers: type ? { "content-type": type, ...headers } : headers });
const read = (request: Request, accepted: BodyKind[] = ALL, field = "username") => readLoginBody(request, accepted, field, 4096);
const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

/** A multipart body from raw lines (CRLF-joined), so every corner of the format can be written. */
const multipart = (...lines: string[]) => post(lines.join("\r\n"), "multipart/form-data; boundary=b");

async function forwarded(request: Request, username?: string) {
  const body = await read(request);
  if (!body.ok) throw new Error(`refused: ${body.message}`);
  const out = body.encode(username ?? body.username);
  return { username: body.username, type: out.contentType, text: text(out.bytes) };
}

async function refusal(request: Request, accepted: BodyKind[] = ALL) {
  const body = await read(request, accepted);
  return body.ok ? "accepted" : body.status;
}

describe("login bodies: one reading, forwarded canonically", () => {
  it("re-encodes a urlencoded form as UTF-8 with the canonical username", async () => {
    const out = await forwarded(post("username=%20Al%2Bice%1F&password=p%C3%A4ss+word&next=%2Fx", "application/x-www-form-urlencoded"), "Al+ice");
    expect(out).toEqual({
      username: " Al+ice\x1f",
      type: "application/x-www-form-urlencoded; charset=utf-8",
      text: "username=Al%2Bice&password=p%C3%A4ss+word&next=%2Fx",
    });
  });

  it("re-serialises JSON: same members in order, numbers as written, no duplicate keys", async () => {
    const out = await forwarded(post('{ "username" : "bob", "n": 1.50e3, "deep": [true, null, {"a": "\\u00e9"}] }', "application/json; charset=UTF-8"));
    expect(out).toEqual({ username: "bob", type: "application/json", text: '{"username":"bob","n":1.50e3,"deep":[true,null,{"a":"é"}]}' });
  });

  it("rebuilds multipart under its own boundary, files byte for byte", async () => {
    const out = await forwarded(
      multipart("--b", 'Content-Disposition: form-data; name="username"', "", "carol", "--b", 'Content-Disposition: form-data; name="f"; filename="a.bin"', "Content-Type: application/octet-stream", "", "\x00\x01--x", "--b--", ""),
    );
    expect(out.username).toBe("carol");
    const boundary = /boundary=(gateway-[0-9a-f]{32})$/.exec(out.type!)![1];
    expect(out.text).toBe(
      [`--${boundary}`, 'Content-Disposition: form-data; name="username"', "", "carol", `--${boundary}`, 'Content-Disposition: form-data; name="f"; filename="a.bin"', "Content-Type: application/octet-stream", "", "\x00\x01--x", `--${boundary}--`, ""].join("\r\n"),
    );
  });

  it("reads what browsers send (FormData)", async () => {
    const data = new FormData();
    data.set("username", "dora");
    data.set("password", "x");
    const out = await forwarded(new Request("https://x/", { method: "POST", body: data }));
    expect(out.username).toBe("dora");
  });

  it("forwards an empty body as no body", async () => {
    const body = await read(post(null));
    expect(body.ok && body.username).toBe(null);
    expect(body.ok && body.encode(null)).toEqual({ bytes: null, contentType: null });
  });
});

describe("login bodies: what has no single meaning is refused", () => {
  it.each([
    ["charset=utf-7 on a form", post("username=alice", "application/x-www-form-urlencoded; charset=utf-7"), 415],
    ["charset=utf-16 on JSON", post('{"username":"a"}', "application/json; charset=utf-16"), 415],
    ["charset=cp500 on multipart", post("--b--", "multipart/form-data; boundary=b; charset=cp500"), 415],
    ["two Content-Type values", post("username=a", "application/x-www-form-urlencoded, application/json"), 415],
    ["a repeated parameter", post("username=a", "application/x-www-form-urlencoded; charset=utf-8; charset=utf-7"), 415],
    ["a multipart field in UTF-16", multipart("--b", 'Content-Disposition: form-data; name="username"', "Content-Type: text/plain; charset=utf-16", "", "alice", "--b--"), 415],
    ["a compressed body", post("username=a", "application/x-www-form-urlencoded", { "content-encoding": "gzip" }), 415],
    ["JSON labelled as a form", post('{"username":"alice","password":"x"}', "application/x-www-form-urlencoded"), 415],
    ["text/plain", post("username=a", "text/plain"), 415],
    ["no Content-Type", post("username=a"), 415],
    ["a malformed % escape", post("username=al%zzice", "application/x-www-form-urlencoded"), 400],
    ["invalid UTF-8 after % decoding", post("username=%FF", "application/x-www-form-urlencoded"), 400],
    ["the username twice", post("username=decoy&username=victim", "application/x-www-form-urlencoded"), 400],
    ["a lookalike field name", post("Username=victim&username=me", "application/x-www-form-urlencoded"), 400],
    ["a field name with spaces", post("username%20=victim", "application/x-www-form-urlencoded"), 400],
    ["a duplicate JSON key", post('{"username":"victim","username":"me"}', "application/json"), 400],
    ["a duplicate nested JSON key", post('{"username":"a","x":{"k":1,"k":2}}', "application/json"), 400],
    ["a lone surrogate", post('{"username":"\\ud800"}', "application/json"), 400],
    ["NaN", post('{"username":"a","n":NaN}', "application/json"), 400],
    ["a JSON byte-order mark", post('\ufeff{"username":"a"}', "application/json"), 400],
    ["a number as the username", post('{"username":42}', "application/json"), 400],
    ["JSON that is not an object", post("[1]", "application/json"), 400],
    ["trailing JSON", post('{"username":"a"} {}', "application/json"), 400],
  ])("refuses %s", async (_name, request, status) => {
    expect(await refusal(request)).toBe(status);
  });

  it.each([
    ["Content-Transfer-Encoding", ["--b", 'Content-Disposition: form-data; name="username"', "Content-Transfer-Encoding: base64", "", "YWxpY2U=", "--b--"]],
    ["spaces around the field name", ["--b", 'Content-Disposition: form-data; name=" username "', "", "alice", "--b--"]],
    ["two Content-Disposition headers", ["--b", 'Content-Disposition: form-data; name="decoy"', 'Content-Disposition: form-data; name="username"', "", "alice", "--b--"]],
    ["a part after the closing delimiter", ["--b", 'Content-Disposition: form-data; name="x"', "", "1", "--b--", "--b", 'Content-Disposition: form-data; name="username"', "", "alice", "--b--"]],
    ["a preamble", ["preamble", "--b", 'Content-Disposition: form-data; name="username"', "", "alice", "--b--"]],
    ["a backslash escape in a name", ["--b", 'Content-Disposition: form-data; name="user\\name"', "", "alice", "--b--"]],
    ["an RFC 2231 name", ["--b", "Content-Disposition: form-data; name*=UTF-8''username", "", "alice", "--b--"]],
    ["a folded header", ["--b", "Content-Disposition: form-data;", ' name="username"', "", "alice", "--b--"]],
    ["the username as a file", ["--b", 'Content-Disposition: form-data; name="username"; filename="u"', "", "alice", "--b--"]],
    ["the username twice", ["--b", 'Content-Disposition: form-data; name="username"', "", "a", "--b", 'Content-Disposition: form-data; name="username"', "", "b", "--b--"]],
    ["an unterminated body", ["--b", 'Content-Disposition: form-data; name="username"', "", "alice"]],
    ["a boundary that runs on", ["--b", 'Content-Disposition: form-data; name="username"', "", "alice", "--bx", "--b--"]],
  ])("refuses multipart with %s", async (_name, lines) => {
    expect(await refusal(multipart(...lines))).toBe(400);
  });

  it("refuses a body type the route does not declare", async () => {
    expect(await refusal(post('{"username":"a"}', "application/json"), ["form", "multipart"])).toBe(415);
    expect(await refusal(post("username=a", "application/x-www-form-urlencoded"), ["json"])).toBe(415);
  });

  it("refuses an oversized body with 413", async () => {
    expect(await refusal(post(`username=${"x".repeat(5000)}`, "application/x-www-form-urlencoded"))).toBe(413);
  });
});
