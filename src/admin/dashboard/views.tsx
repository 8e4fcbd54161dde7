/** @jsxImportSource hono/jsx */
/**
 * The dashboard's pages, rendered on the server with hono/jsx (values are escaped by JSX). Plain
 * forms and links only: every page works without JavaScript.
 */
import type { Child } from "hono/jsx";
import type { AttemptQuery, AttemptView, FailureChart } from "../attempts";
import type { StoreHealth } from "../health";
import type { CounterView } from "../lockouts";

const STYLE = `
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:.8rem 1.5rem;display:flex;gap:1.5rem;align-items:center}
header strong{font-size:1.05rem;margin-right:auto}header a{color:#cfd6e4;text-decoration:none}header a.on{color:#fff;font-weight:600}
header form{margin:0}header button{background:none;border:1px solid #5b6478;color:#cfd6e4;padding:.25rem .7rem;border-radius:4px;cursor:pointer}
main{max-width:64rem;margin:1.5rem auto;padding:0 1.5rem}h1{font-size:1.35rem;margin:.2rem 0 1rem}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:1rem 1.25rem;margin-bottom:1.25rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid #eceef2;font-size:.92rem}
th{color:#5b6478;font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.03em}
#config th{text-transform:none;letter-spacing:0;font-size:.88rem;color:#1d2330;font-weight:500;width:40%}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:999px;font-size:.78rem;font-weight:600}
.locked{background:#fde2e1;color:#a4161a}.counting{background:#fff3cd;color:#7a5a00}.ok{background:#dcf5e3;color:#17663a}.bad{background:#fde2e1;color:#a4161a}
td form{margin:0}button.reset{background:#a4161a;color:#fff;border:0;border-radius:4px;padding:.3rem .8rem;cursor:pointer}
.notice{background:#e7f0ff;border:1px solid #b9d0f5;border-radius:6px;padding:.6rem .9rem;margin-bottom:1rem}
.error{background:#fde2e1;border-color:#f3b1ae}.muted{color:#5b6478;font-size:.88rem}code{font-size:.88rem}
.signin{max-width:24rem;margin:5rem auto}.signin input{width:100%;padding:.55rem;margin:.4rem 0 1rem;border:1px solid #c5cad4;border-radius:4px;font-size:1rem}
.signin button{background:#1d2330;color:#fff;border:0;border-radius:4px;padding:.55rem 1.2rem;font-size:1rem;cursor:pointer}
form.filters{display:flex;gap:.8rem;align-items:end;flex-wrap:wrap;margin:0}form.filters label{display:flex;flex-direction:column;font-size:.8rem;color:#5b6478;gap:.2rem}
form.filters input,form.filters select{padding:.35rem .5rem;border:1px solid #c5cad4;border-radius:4px;font-size:.92rem}
form.filters button{background:#1d2330;color:#fff;border:0;border-radius:4px;padding:.4rem 1rem;cursor:pointer}
.unknown{background:#eceef2;color:#5b6478}
svg.chart{width:100%;height:auto;display:block}svg.chart text{font-size:11px;fill:#5b6478}.legend{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin:0 .3rem 0 .8rem;vertical-align:middle}`;

function Page({ title, children }: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{title} · gateway</title>
        <style>{STYLE}</style>
      </head>
      <body>{children}</body>
    </html>
  );
}

type Tab = "lockouts" | "attempts" | "health" | "config";

function Frame({ prefix, tab, title, children }: { prefix: string; tab: Tab; title: string; children: Child }) {
  const link = (to: Tab, href: string, label: string) => (
    <a href={href} class={tab === to ? "on" : undefined}>
      {label}
    </a>
  );
  return (
    <Page title={title}>
      <header>
        <strong>Login gateway</strong>
        {link("lockouts", `${prefix}/`, "Lockouts")}
        {link("attempts", `${prefix}/dashboard/attempts`, "Attempts")}
        {link("health", `${prefix}/dashboard/health`, "Health")}
        {link("config", `${prefix}/dashboard/config`, "Configuration")}
        <form method="post" action={`${prefix}/dashboard/sign-out`}>
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>
        <h1>{title}</h1>
        {children}
      </main>
    </Page>
  );
}

/** The sign-in form; `error` after a refused token. */
export function SignInPage({ prefix, error }: { prefix: string; error?: string }) {
  return (
    <Page title="Sign in">
      <main class="signin card">
        <h1>Gateway dashboard</h1>
        {error && <p class="notice error">{error}</p>}
        <form method="post" action={`${prefix}/dashboard/sign-in`}>
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required />
          <button type="submit">Sign in</button>
        </form>
        <p class="muted">The session lasts 30 minutes.</p>
      </main>
    </Page>
  );
}

const when = (seconds: number | null, now: number) =>
  seconds === null ? "until reset" : new Date(now + seconds * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";

/** Current counters: locked ones with their lift time, the rest still counting; each with a reset button. */
export function LockoutsPage(props: {
  prefix: string;
  counters: readonly CounterView[];
  truncated: boolean;
  failureLimit: number;
  notice?: string;
  now: number;
}) {
  const { prefix, counters, now } = props;
  const locked = counters.filter((c) => c.locked).length;
  return (
    <Frame prefix={prefix} tab="lockouts" title="Lockouts">
      {props.notice && <p class="notice">{props.notice}</p>}
      <div class="card">
        <p>
          <strong>{locked}</strong> locked, <strong>{counters.length - locked}</strong> counting (limit {props.failureLimit} failures).
          {props.truncated && " The list was cut at the store's listing limit."}
        </p>
        {counters.length === 0 ? (
          <p class="muted" id="no-counters">No failed logins are being counted.</p>
        ) : (
          <table id="counters">
            <thead>
              <tr>
                <th>Username</th>
                <th>IP address</th>
                <th>User agent</th>
                <th>Failures</th>
                <th>State</th>
                <th>Lifts at</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {counters.map((c) => (
                <tr>
                  <td>{c.username ?? "—"}</td>
                  <td>{c.ip_address ?? "—"}</td>
                  <td>{c.user_agent ? <code>{c.user_agent.slice(0, 12)}</code> : "—"}</td>
                  <td>{c.failures}</td>
                  <td>{c.locked ? <span class="badge locked">locked</span> : <span class="badge counting">counting</span>}</td>
                  <td>{c.locked ? when(c.retry_after_seconds, now) : "—"}</td>
                  <td>
                    {(c.ip_address !== undefined || c.username !== undefined) && (
                      <form method="post" action={`${prefix}/dashboard/lockouts/reset`}>
                        {c.ip_address !== undefined && <input type="hidden" name="ip" value={c.ip_address} />}
                        {c.username !== undefined && <input type="hidden" name="username" value={c.username} />}
                        <button class="reset" type="submit">
                          Reset
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <p class="muted">
        A reset clears every counter of that client, as <code>npm run gateway -- lockouts reset</code> does. The attempts behind these
        counters, and failures per minute, are under <a href={`${prefix}/dashboard/attempts`}>Attempts</a>.
      </p>
    </Frame>
  );
}

const CHART = { width: 720, height: 180, left: 34, bottom: 22, top: 10 } as const;

const minuteOf = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/**
 * Failures per minute over the last hour as an inline SVG bar chart (locked refusals stacked on top),
 * with a title per bar for a hover and the same numbers in words below it, so it reads without colour.
 */
function FailuresChart({ chart }: { chart: FailureChart }) {
  const { width, height, left, bottom, top } = CHART;
  const totals = chart.failures.map((f, i) => f + chart.locked[i]!);
  const peak = Math.max(1, ...totals);
  const plot = height - bottom - top;
  const step = (width - left) / 60;
  const y = (n: number) => top + plot - (n / peak) * plot;
  const failures = chart.failures.reduce((a, b) => a + b, 0);
  const locked = chart.locked.reduce((a, b) => a + b, 0);
  return (
    <div class="card">
      <h2 style="font-size:1rem;margin:.2rem 0 .6rem">Failures per minute, last hour (UTC)</h2>
      <svg id="failures-chart" class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${failures} failed logins and ${locked} locked refusals in the last hour`}>
        <line x1={left} y1={top + plot} x2={width} y2={top + plot} stroke="#c5cad4" />
        <text x={left - 6} y={top + 4} text-anchor="end">{peak}</text>
        <text x={left - 6} y={top + plot} text-anchor="end">0</text>
        {chart.failures.map((f, i) => {
          const l = chart.locked[i]!;
          const x = left + i * step + 1;
          const w = Math.max(1, step - 2);
          return (
            <g class="minute" data-minute={minuteOf(chart.startMs + i * 60_000)} data-failures={String(f)} data-locked={String(l)}>
              <title>{`${minuteOf(chart.startMs + i * 60_000)} UTC: ${f} failed, ${l} locked`}</title>
              {f > 0 && <rect x={x} y={y(f)} width={w} height={top + plot - y(f)} fill="#c0392b" />}
              {l > 0 && <rect x={x} y={y(f + l)} width={w} height={y(f) - y(f + l)} fill="#e0a800" />}
            </g>
          );
        })}
        {[0, 15, 30, 45, 59].map((i) => (
          <text x={i === 0 ? left : i === 59 ? width : left + i * step + step / 2} y={height - 6} text-anchor={i === 0 ? "start" : i === 59 ? "end" : "middle"}>
            {minuteOf(chart.startMs + i * 60_000)}
          </text>
        ))}
      </svg>
      <p class="muted" id="chart-summary">
        <span class="legend" style="background:#c0392b" />
        {failures} failed login(s)
        <span class="legend" style="background:#e0a800" />
        {locked} refused while locked, in the last hour; busiest minute {Math.max(...totals)}.
        {chart.truncated && " The hour held more attempts than the chart reads; it shows the newest."}
      </p>
    </div>
  );
}

/** Badge colours per outcome: a failure red, a refusal while locked amber (as in the chart), a success green. */
const OUTCOMES: Record<string, string> = { failure: "bad", success: "ok", locked: "counting", unknown: "unknown" };
const SINCE_CHOICES = [
  ["", "all kept"],
  ["15m", "15 minutes"],
  ["1h", "1 hour"],
  ["6h", "6 hours"],
  ["1d", "1 day"],
  ["7d", "7 days"],
] as const;

/** Recent attempts: the chart, a GET form of filters, and a page of the history with a link to older ones. */
export function AttemptsPage(props: {
  prefix: string;
  query: AttemptQuery;
  chart: FailureChart;
  attempts: readonly AttemptView[];
  older: string | null;
  history: boolean;
  error?: string;
}) {
  const { prefix, query, attempts } = props;
  const olderHref = props.older === null ? null : `${prefix}/dashboard/attempts?${new URLSearchParams({ ...query, cursor: props.older }).toString()}`;
  return (
    <Frame prefix={prefix} tab="attempts" title="Login attempts">
      {!props.history && <p class="notice">AXES_HISTORY is off: no new attempts are recorded; older ones stay until trimmed.</p>}
      {props.error && <p class="notice error">{props.error}</p>}
      <FailuresChart chart={props.chart} />
      <div class="card">
        <form class="filters" method="get" action={`${prefix}/dashboard/attempts`}>
          <label>
            Username
            <input name="username" value={query.username ?? ""} />
          </label>
          <label>
            IP address
            <input name="ip" value={query.ip ?? ""} />
          </label>
          <label>
            Since
            <select name="since">
              {SINCE_CHOICES.map(([value, label]) => (
                <option value={value} selected={(query.since ?? "") === value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Filter</button>
          <a href={`${prefix}/dashboard/attempts`}>Clear</a>
        </form>
      </div>
      <div class="card">
        {attempts.length === 0 ? (
          <p class="muted" id="no-attempts">No attempts match.</p>
        ) : (
          <table id="attempts">
            <thead>
              <tr>
                <th>Time (UTC)</th>
                <th>Username</th>
                <th>IP address</th>
                <th>Path</th>
                <th>Outcome</th>
                <th>User agent</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr>
                  <td>{a.time.replace("T", " ").slice(0, 19)}</td>
                  <td>{a.username === "" ? "—" : a.username}</td>
                  <td>{a.ip}</td>
                  <td>
                    <code>{a.path}</code>
                  </td>
                  <td>
                    <span class={`badge ${OUTCOMES[a.outcome] ?? "unknown"}`}>{a.outcome}</span>
                  </td>
                  <td>
                    <code title={`counters: ${a.counters.join(", ")}`}>{a.user_agent.slice(0, 12)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {olderHref !== null && (
          <p>
            <a id="older" href={olderHref}>
              Older attempts →
            </a>
          </p>
        )}
      </div>
      <p class="muted">
        Newest first. The same listing: <code>npm run gateway -- attempts list --username NAME --since 1h</code>. Usernames are shown as counted
        (normalised); user agents as a digest; passwords are never recorded.
      </p>
    </Frame>
  );
}

/** Each store's reachability, latency and circuit state. */
export function HealthPage({ prefix, status, stores }: { prefix: string; status: string; stores: Record<string, StoreHealth> }) {
  return (
    <Frame prefix={prefix} tab="health" title="Store and circuit health">
      <div class="card">
        <p>
          Overall: <span class={`badge ${status === "ok" ? "ok" : "bad"}`}>{status}</span>
        </p>
        <table id="stores">
          <thead>
            <tr>
              <th>Role</th>
              <th>Store</th>
              <th>Reachable</th>
              <th>Latency</th>
              <th>Circuit</th>
              <th>Problem</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(stores).map(([role, s]) => (
              <tr>
                <td>{role}</td>
                <td>{s.kind}</td>
                <td>{s.reachable ? <span class="badge ok">yes</span> : <span class="badge bad">no</span>}</td>
                <td>{s.latency_ms} ms</td>
                <td>{s.circuit ?? "—"}</td>
                <td>{s.reason ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Frame>
  );
}

/** The effective configuration as rows of setting and value; secrets appear only as "set" or "not set". */
export function ConfigPage({ prefix, rows }: { prefix: string; rows: readonly (readonly [string, string])[] }) {
  return (
    <Frame prefix={prefix} tab="config" title="Effective configuration">
      <div class="card">
        <table id="config">
          <tbody>
            {rows.map(([name, value]) => (
              <tr>
                <th>{name}</th>
                <td>
                  <code>{value}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted">Secrets are never shown: only whether they are set.</p>
    </Frame>
  );
}
