/** @jsxImportSource hono/jsx */
/**
 * The dashboard's pages, rendered on the server with hono/jsx (values are escaped by JSX). Plain
 * forms and links only: every page works without JavaScript.
 */
import type { Child } from "hono/jsx";
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
.signin button{background:#1d2330;color:#fff;border:0;border-radius:4px;padding:.55rem 1.2rem;font-size:1rem;cursor:pointer}`;

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

type Tab = "lockouts" | "health" | "config";

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
        A reset clears every counter of that client, as <code>npm run gateway -- lockouts reset</code> does. A failures-per-minute chart
        needs the attempt history, which this version does not keep yet.
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
