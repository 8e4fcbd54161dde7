/**
 * Generated differential tests against the real Django origin (issue 9): fast-check builds random
 * login requests (method, media type and charset, urlencoded / multipart / JSON bodies with random
 * part layouts, duplicate and decoy username fields, whitespace and Unicode around the username, a
 * username in the query string) that carry either a LOCKED user's correct password or an unlocked
 * user's wrong password, sends each through a fresh gateway, and checks what Django's auth signals
 * saw against the gateway's own counters:
 *
 * - I1: a locked username is never authenticated by Django;
 * - I2: whenever Django checked a password for X and it failed, the gateway counted that failure
 *   against X (its failure counter for X, as the gateway normalises X, went up).
 *
 * The cases come from `fc.sample` with a fixed seed, so CI runs the same cases every time; all of
 * them run and every violation is reported (rather than stopping and shrinking at the first: each
 * case costs several origin round trips, and the list of disagreeing shapes is the evidence).
 * Change SEED to explore other cases; the number of cases is in each test's name.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Charset, type Part, canEncode, concatBytes, disposition, encodeText, multipartBody, urlencodedBody, utf8Urlencoded } from "./django-bodies";
import { type DjangoPath, type UserName, USERS, USER_NAMES, authLog, clearAuthLog, djangoGateway, failuresOf, lockUser } from "./django";
import { nextIp } from "./helpers";

/** The seed of every property below (issue 9). */
const SEED = 9_0009;
const CASES_PER_BODY = 100;
const BOUNDARY = "propBoundaryQ3x9";
const WRONG_PASSWORD = "not-the-password";

/** What Python's str.strip() removes (a sample of each kind), and two characters it keeps but JavaScript trims or hides. */
const PYTHON_STRIPS = ["\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f", " ", "\x85", "\xa0", "\u1680", "\u2003", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"];
const PYTHON_KEEPS = ["\u200b", "\ufeff"];
const PYTHON_WHITESPACE = new RegExp(`^[${PYTHON_STRIPS.join("")}\\u2000-\\u200a]+|[${PYTHON_STRIPS.join("")}\\u2000-\\u200a]+$`, "g");

type BodyKind = "form" | "multipart" | "json";

interface Case {
  readonly locked: boolean;
  readonly target: UserName;
  readonly decoy: UserName;
  readonly path: DjangoPath;
  readonly method: string;
  readonly body: BodyKind;
  readonly declared: "same" | BodyKind | "text" | "none";
  readonly mixedCaseMediaType: boolean;
  readonly charset: { readonly name: Charset; readonly spelling: "charset=" | 'Charset="' } | null;
  readonly spelling: { readonly casing: "as-is" | "upper" | "title"; readonly fullwidth: boolean; readonly prefix: string; readonly suffix: string };
  readonly duplicate: "none" | "decoy-first" | "decoy-last";
  readonly passwordFirst: boolean;
  /** A username in the query string; "target-only" leaves it out of the body. */
  readonly query: "none" | "target" | "decoy" | "target-only";
  readonly multipart: {
    readonly name: "exact" | "spaced" | "unquoted";
    readonly headerName: "Content-Disposition" | "content-disposition" | "CONTENT-DISPOSITION";
    readonly base64: boolean;
    readonly twoDispositions: boolean;
    readonly afterClose: boolean;
    readonly preamble: boolean;
    readonly extraField: boolean;
    readonly decoyName: "exact" | "spaced";
  };
  readonly json: { readonly escapedKey: boolean; readonly bytes: "utf-8" | "utf-8-bom" | "utf-16" | "utf-32" };
}

const weighted = <const T>(...choices: [T, number][]) => fc.oneof(...choices.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
const rarely = (weight = 4) => weighted([false, weight], [true, 1]);
const affix = fc.oneof({ arbitrary: fc.constant(""), weight: 3 }, { arbitrary: fc.array(fc.constantFrom(...PYTHON_STRIPS, ...PYTHON_KEEPS), { minLength: 1, maxLength: 2 }).map((a) => a.join("")), weight: 2 });

const caseFor = (body: BodyKind): fc.Arbitrary<Case> =>
  fc
    .record({
      locked: fc.boolean(),
      targetIndex: fc.nat(1),
      decoyIndex: fc.nat(3),
      // Mostly the views that read this kind of body; sometimes one that does not.
      path:
        body === "json"
          ? weighted<DjangoPath>(["/api/login/", 8], ["/accounts/login/", 1], ["/plain/login/", 1], ["/query-first/login/", 1])
          : weighted<DjangoPath>(["/accounts/login/", 3], ["/plain/login/", 2], ["/query-first/login/", 2], ["/accounts/login-redirect/", 1], ["/api/login/", 1]),
      method: weighted(["POST", 8], ["PUT", 1], ["PATCH", 1], ["DELETE", 1], ["OPTIONS", 1]),
      declared: weighted<Case["declared"]>(["same", 8], ["form", 1], ["multipart", 1], ["json", 1], ["text", 1], ["none", 1]),
      mixedCaseMediaType: rarely(),
      charset: fc.oneof(
        { arbitrary: fc.constant(null), weight: 3 },
        { arbitrary: fc.record({ name: fc.constantFrom<Charset>("utf-8", "latin-1", "cp500", "utf-16", "utf-16-be", "utf-32", "utf-7"), spelling: fc.constantFrom("charset=" as const, 'Charset="' as const) }), weight: 2 },
      ),
      spelling: fc.record({ casing: weighted(["as-is", 4], ["upper", 1], ["title", 1]), fullwidth: rarely(5), prefix: affix, suffix: affix }),
      duplicate: weighted<Case["duplicate"]>(["none", 4], ["decoy-first", 1], ["decoy-last", 1]),
      passwordFirst: fc.boolean(),
      query: weighted<Case["query"]>(["none", 6], ["target", 1], ["decoy", 1], ["target-only", 1]),
      multipart: fc.record({
        name: weighted(["exact", 4], ["spaced", 1], ["unquoted", 1]),
        headerName: weighted(["Content-Disposition", 3], ["content-disposition", 1], ["CONTENT-DISPOSITION", 1]),
        base64: rarely(),
        twoDispositions: rarely(),
        afterClose: rarely(),
        preamble: rarely(),
        extraField: rarely(2),
        decoyName: weighted(["exact", 1], ["spaced", 1]),
      }),
      json: fc.record({ escapedKey: rarely(), bytes: weighted(["utf-8", 5], ["utf-8-bom", 1], ["utf-16", 1], ["utf-32", 1]) }),
    })
    .map(({ locked, targetIndex, decoyIndex, ...rest }) => {
      const target: UserName = locked ? (["alice", "bob"] as const)[targetIndex]! : (["carol", "dave"] as const)[targetIndex]!;
      const decoy = USER_NAMES.filter((name) => name !== target)[decoyIndex]!;
      return { ...rest, locked, target, decoy, body };
    })
    .filter((c) => c.charset === null || [spelled(c), c.decoy, passwordOf(c)].every((text) => canEncode(text, c.charset!.name)));

// U+FF01..U+FF5E are the fullwidth forms of ASCII 0x21..0x7E.
const FULLWIDTH_OFFSET = 0xfee0;
/** The username as this case writes it: casing, fullwidth letters (NFKC folds them back), whitespace around it. */
function spelled(c: Case): string {
  const { casing, fullwidth, prefix, suffix } = c.spelling;
  let name: string = c.target;
  if (casing === "upper") name = name.toUpperCase();
  if (casing === "title") name = name[0]!.toUpperCase() + name.slice(1);
  if (fullwidth) name = name.replace(/[a-zA-Z]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + FULLWIDTH_OFFSET));
  return prefix + name + suffix;
}
const passwordOf = (c: Case) => (c.locked ? USERS[c.target] : WRONG_PASSWORD);

/** The usernames Django could check for this case: as written, and as AuthenticationForm cleans them. */
function candidateNames(c: Case): string[] {
  const written = [spelled(c), c.decoy, c.target];
  return [...new Set(written.flatMap((name) => [name, name.replace(PYTHON_WHITESPACE, "").normalize("NFKC")]))];
}

/** The fields in body order: username (and the decoy's, when duplicated) and password. */
function fieldsOf(c: Case): [name: "username" | "decoy" | "password", value: string][] {
  const user: [("username" | "decoy"), string][] = c.query === "target-only" ? [] : [["username", spelled(c)]];
  if (c.duplicate === "decoy-first") user.unshift(["decoy", c.decoy]);
  if (c.duplicate === "decoy-last") user.push(["decoy", c.decoy]);
  const password: ["password", string] = ["password", passwordOf(c)];
  return c.passwordFirst ? [password, ...user] : [...user, password];
}

function multipartOf(c: Case, charset: Charset): Uint8Array {
  const m = c.multipart;
  const text = (value: string) => encodeText(value, charset);
  const header = (name: string, opts: { quoted?: boolean } = {}) => disposition(text(name), { headerName: m.headerName, ...opts });
  const before: Part[] = [];
  const after: Part[] = [];
  for (const [field, value] of fieldsOf(c)) {
    if (field === "password") before.push({ headers: [header("password")], content: text(value) });
    else if (field === "decoy") before.push({ headers: [header(m.decoyName === "spaced" ? " username " : "username")], content: text(value) });
    else {
      const name = m.name === "spaced" ? " username " : "username";
      const headers = [...(m.twoDispositions ? [header("nickname")] : []), header(name, { quoted: m.name !== "unquoted" })];
      const content = m.base64 ? concatBytes(btoa(String.fromCharCode(...text(value)))) : text(value);
      if (m.base64) headers.push(concatBytes("Content-Transfer-Encoding: base64"));
      (m.afterClose ? after : before).push({ headers, content });
    }
  }
  if (m.extraField) before.push({ headers: [header("next")], content: text("/done/") });
  return multipartBody(BOUNDARY, before, { afterClose: after, preamble: m.preamble ? "a preamble nobody reads\r\n" : "" });
}

function jsonOf(c: Case): Uint8Array {
  const key = (name: string) => (c.json.escapedKey && name === "username" ? '"\\u0075sername"' : JSON.stringify(name));
  const members = fieldsOf(c).map(([field, value]) => `${key(field === "decoy" ? "username" : field)}:${JSON.stringify(value)}`);
  const text = `{${members.join(",")}}`;
  switch (c.json.bytes) {
    case "utf-8":
      return encodeText(text, "utf-8");
    case "utf-8-bom":
      return concatBytes(new Uint8Array([0xef, 0xbb, 0xbf]), text);
    case "utf-16":
    case "utf-32":
      return encodeText(text, c.json.bytes);
  }
}

const MEDIA_TYPES: Record<BodyKind | "text", [lower: string, mixed: string]> = {
  form: ["application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded"],
  multipart: [`multipart/form-data; boundary=${BOUNDARY}`, `Multipart/Form-Data; boundary=${BOUNDARY}`],
  json: ["application/json", "Application/JSON"],
  text: ["text/plain", "Text/Plain"],
};

/** The request this case sends: path with its query, method, headers and body bytes. */
function requestOf(c: Case): { path: string; init: { method: string; headers: Record<string, string>; body: Uint8Array } } {
  const charset = c.charset?.name ?? "utf-8";
  const fields = fieldsOf(c).map(([field, value]) => [field === "decoy" ? "username" : field, value] as const);
  const body =
    c.body === "json" ? jsonOf(c) : c.body === "multipart" ? multipartOf(c, charset) : charset === "utf-8" ? encodeText(utf8Urlencoded(fields), "utf-8") : urlencodedBody(fields, charset);
  const headers: Record<string, string> = {};
  const declared = c.declared === "same" ? c.body : c.declared;
  if (declared !== "none") {
    const [lower, mixed] = MEDIA_TYPES[declared];
    const param = c.charset === null ? "" : c.charset.spelling === "charset=" ? `; charset=${c.charset.name}` : `; Charset="${c.charset.name.toUpperCase()}"`;
    headers["content-type"] = (c.mixedCaseMediaType ? mixed : lower) + param;
  }
  const query = c.query === "none" ? "" : `?username=${encodeURIComponent(c.query === "decoy" ? c.decoy : spelled(c))}`;
  return { path: `${c.path}${query}`, init: { method: c.method, headers, body } };
}

/** Runs one case through a fresh gateway; answers the invariant violations it shows (none when it holds). */
async function runCase(c: Case): Promise<{ violations: string[]; reachedDjango: boolean; status: number }> {
  const gw = djangoGateway();
  if (c.locked) await lockUser(gw, c.target);
  const ip = nextIp();
  const before = new Map<string, number>();
  for (const name of candidateNames(c)) before.set(name, await failuresOf(gw, name, ip));
  await clearAuthLog();

  const { path, init } = requestOf(c);
  const res = await gw.request(path, { ...init, ip });
  await res.body?.cancel();
  const events = await authLog();

  const violations: string[] = [];
  for (const event of events) {
    const who = JSON.stringify(event.username);
    if (event.event === "success" && c.locked && event.username === c.target) {
      violations.push(`I1: Django logged in locked ${who} (gateway answered ${res.status})`);
    }
    if (event.event !== "failure" || event.username === null) continue;
    const counted = before.get(event.username);
    if (counted === undefined) {
      violations.push(`harness: Django checked ${who}, not one of the expected names ${JSON.stringify([...before.keys()])}`);
      continue;
    }
    const now = await failuresOf(gw, event.username, ip);
    if (now < counted + 1) violations.push(`I2: Django checked ${who} and it failed, but the gateway's count for it stayed ${now} (gateway answered ${res.status})`);
  }
  return { violations, reachedDjango: events.length > 0, status: res.status };
}

/** A one-line description of a case, for the report. */
const describeCase = (c: Case) => {
  const { path, init } = requestOf(c);
  return `${init.method} ${path} ${JSON.stringify(init.headers["content-type"] ?? null)} ${c.body} ${c.locked ? "locked" : "unlocked"} ${c.target} as ${JSON.stringify(spelled(c))} dup=${c.duplicate} ${
    c.body === "multipart" ? `mp=${JSON.stringify(c.multipart)}` : c.body === "json" ? `json=${JSON.stringify(c.json)}` : ""
  }`;
};

describe.each<BodyKind>(["form", "multipart", "json"])("generated %s bodies (fast-check, fixed seed)", (body) => {
  const cases = fc.sample(caseFor(body), { seed: SEED, numRuns: CASES_PER_BODY });

  it(`a locked username is never authenticated, and every password Django checks was counted (${CASES_PER_BODY} cases, seed ${SEED})`, { timeout: 240_000 }, async ({ annotate }) => {
    expect(cases).toHaveLength(CASES_PER_BODY);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let reached = 0;
    for (const c of cases) {
      const { violations, reachedDjango, status } = await runCase(c);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (reachedDjango) reached += 1;
      for (const violation of violations) failures.push(`${violation}\n    ${describeCase(c)}`);
    }
    const summary = `${cases.length} generated ${body} cases (seed ${SEED}): ${reached} reached Django, gateway statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${failures.length} violations`;
    console.log([summary, ...failures].join("\n"));
    await annotate(summary);
    expect(failures, summary).toEqual([]);
  });
});
