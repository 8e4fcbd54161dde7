/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by puppeteer-core)
 * against a real `wrangler dev` of the gateway counting in the real Redis through the Upstash bridge:
 * a lockout made by real login attempts is seen, reset with its button, and gone; the attempts those
 * logins made are listed, filtered and charted per minute.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type WranglerDev, startWranglerDev } from "./wrangler-dev.ts";

const CHROMIUM = "/usr/bin/chromium";
const ADMIN_TOKEN = randomBytes(24).toString("base64url");
const KEY_PREFIX = `${inject("keyPrefix")}-dashboard-${randomBytes(4).toString("hex")}`;
const USERNAME = `mallory-${randomBytes(3).toString("hex")}`;
const IP = "203.0.113.77";

let gateway: WranglerDev;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  [gateway, browser] = await Promise.all([
    startWranglerDev({
      ENVIRONMENT: "development",
      ORIGIN_URL: inject("originUrl"),
      ADMIN_TOKEN,
      UPSTASH_REDIS_REST_URL: inject("bridgeUrl"),
      UPSTASH_REDIS_REST_TOKEN: inject("bridgeToken"),
      CACHE_KEY_PREFIX: KEY_PREFIX,
      LOGIN_ROUTES: JSON.stringify([{ path: "/api/login/", body: ["json"], success: [200], failure: [401] }]),
    }),
    // Root in CI containers cannot use Chromium's sandbox.
    puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] }),
  ]);
  page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 700 });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

async function login(password: string): Promise<number> {
  const response = await fetch(`${gateway.url}/api/login/`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "cf-connecting-ip": IP },
    body: JSON.stringify({ username: USERNAME, password }),
  });
  await response.body?.cancel();
  return response.status;
}

async function submitToken(token: string): Promise<number> {
  await page.goto(`${gateway.url}/__gateway/`);
  await page.type("#token", token);
  const [response] = await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  return response!.status();
}

const rowTexts = () => page.$$eval("#counters tbody tr", (rows) => rows.map((row) => row.innerText.replace(/\s+/g, " ").trim()));

describe("the dashboard in Chromium", () => {
  it("refuses a wrong token, signs in with the right one, shows a real lockout, resets it and sees it gone", async () => {
    expect([await login("wrong"), await login("wrong"), await login("wrong")]).toEqual([401, 401, 429]);

    expect(await submitToken(`${ADMIN_TOKEN}-wrong`)).toBe(401);
    expect(await page.$eval(".notice", (el) => el.textContent)).toBe("That is not the admin token.");
    expect(await page.cookies()).toEqual([]);

    expect(await submitToken(ADMIN_TOKEN)).toBe(200);
    expect(page.url()).toBe(`${gateway.url}/__gateway/`);
    const [cookie] = await page.cookies();
    expect(cookie).toMatchObject({ name: "gateway_dashboard", path: "/__gateway", httpOnly: true, secure: true, sameSite: "Strict" });
    expect(cookie!.expires * 1000 - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(cookie!.expires * 1000 - Date.now()).toBeLessThanOrEqual(30 * 60_000);

    expect(await rowTexts()).toEqual([
      expect.stringMatching(new RegExp(`^— ${IP.replace(/\./g, "\\.")} — 3 locked \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC Reset$`)),
      expect.stringMatching(new RegExp(`^${USERNAME} — — 3 locked \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC Reset$`)),
    ]);
    await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT ?? `${gateway.persistDir}/dashboard.png` });

    const userRow = (await page.$$("#counters tbody tr"))[1]!;
    const [afterReset] = await Promise.all([page.waitForNavigation(), userRow.$eval("button.reset", (button) => button.click())]);
    expect(afterReset!.status()).toBe(200);
    expect(page.url()).toBe(`${gateway.url}/__gateway/?reset=1`);
    expect(await page.$eval(".notice", (el) => el.textContent)).toBe("Reset 1 counter(s).");
    expect((await rowTexts()).some((row) => row.includes(USERNAME))).toBe(false);
    expect(await rowTexts()).toHaveLength(1);

    // The username's own counter is gone, so only the IP's lock still refuses; resetting the IP frees the client.
    const ipRow = (await page.$$("#counters tbody tr"))[0]!;
    await Promise.all([page.waitForNavigation(), ipRow.$eval("button.reset", (button) => button.click())]);
    expect(await page.$("#no-counters")).not.toBeNull();
    expect(await login("wrong")).toBe(401);
  });

  it("shows the attempts real logins made, filtered with a GET form, and failures per minute as an SVG chart, without JavaScript", async () => {
    // The first test's client made 4 failures (the third locked it); 2 more lock the username again, and the next is refused.
    expect([await login("wrong"), await login("wrong"), await login("wrong")]).toEqual([401, 429, 429]);
    await page.setJavaScriptEnabled(false);
    try {
      await Promise.all([page.waitForNavigation(), page.click("a[href='/__gateway/dashboard/attempts']")]);
      const attemptRows = () => page.$$eval("#attempts tbody tr", (rows) => rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.innerText.trim())));
      const rows = await attemptRows();
      expect(rows.map(([, username, ip, path, outcome]) => [username, ip, path, outcome])).toEqual([
        [USERNAME, IP, "/api/login/", "locked"],
        ...Array.from({ length: 6 }, () => [USERNAME, IP, "/api/login/", "failure"]),
      ]);
      for (const row of rows) expect(row[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

      const minutes = await page.$$eval("#failures-chart g.minute", (groups) => groups.map((g) => ({ failures: Number(g.getAttribute("data-failures")), locked: Number(g.getAttribute("data-locked")) })));
      expect(minutes).toHaveLength(60);
      expect(minutes.reduce((sum, m) => sum + m.failures, 0)).toBe(6);
      expect(minutes.reduce((sum, m) => sum + m.locked, 0)).toBe(1);
      expect(minutes.at(-1)!.failures + minutes.at(-2)!.failures).toBeGreaterThan(0); // the newest minute is on the right
      const bars = await page.$$eval("#failures-chart rect", (rects) => rects.map((r) => r.getBoundingClientRect().height));
      expect(bars.length).toBeGreaterThan(0);
      expect(bars.every((height) => height > 0)).toBe(true);
      expect(await page.$eval("#chart-summary", (p) => p.textContent)).toContain("6 failed login(s)");
      await page.screenshot({ path: process.env.DASHBOARD_ATTEMPTS_SCREENSHOT ?? `${gateway.persistDir}/dashboard-attempts.png`, fullPage: true });

      // The filters are a GET form: submitting it puts them in the URL.
      await page.type("input[name=username]", `  ${USERNAME.toUpperCase()}`);
      await page.select("select[name=since]", "1h");
      await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
      const url = new URL(page.url());
      expect([url.pathname, url.searchParams.get("username"), url.searchParams.get("since")]).toEqual(["/__gateway/dashboard/attempts", `  ${USERNAME.toUpperCase()}`, "1h"]);
      expect(await attemptRows()).toHaveLength(7);
      expect(await page.$eval("input[name=username]", (input) => input.getAttribute("value"))).toBe(USERNAME.toUpperCase());

      await page.goto(`${gateway.url}/__gateway/dashboard/attempts?ip=198.51.100.200`);
      expect(await page.$("#no-attempts")).not.toBeNull();
      expect(await page.$$eval("#failures-chart rect", (rects) => rects.length)).toBe(0);
      const bad = await page.goto(`${gateway.url}/__gateway/dashboard/attempts?ip=nonsense`);
      expect(bad!.status()).toBe(400);
      expect(await page.$eval(".notice.error", (el) => el.textContent)).toContain("IP address");
    } finally {
      await page.setJavaScriptEnabled(true);
    }
  });

  it("shows store health and the configuration with secrets masked", async () => {
    await Promise.all([page.waitForNavigation(), page.click("a[href='/__gateway/dashboard/health']")]);
    expect(await page.$eval("#stores tbody tr", (row) => row.innerText.replace(/\s+/g, " ").trim())).toMatch(/^counters upstash yes \d+ ms — —$/);
    await Promise.all([page.waitForNavigation(), page.click("a[href='/__gateway/dashboard/config']")]);
    const config = await page.$eval("#config", (table) => table.innerText);
    expect(config).toContain("ADMIN_TOKEN\tset (hidden)");
    expect(config).not.toContain(ADMIN_TOKEN);
  });

  it("refuses a form post from another origin even with a valid cookie, and one without any origin check", async () => {
    const [cookie] = await page.cookies();
    const post = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/__gateway/dashboard/lockouts/reset`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie: `${cookie!.name}=${cookie!.value}`, "content-type": "application/x-www-form-urlencoded", ...headers },
        body: `ip=${IP}`,
      });
    const cross = await post({ origin: "https://evil.example" });
    expect([cross.status, await cross.text()]).toEqual([403, "Forbidden"]);
    const bare = await post({});
    expect(bare.status).toBe(403);
    // The same post from the site itself goes through: it clears the IP counter of the first test's last failure.
    const sameSite = await post({ origin: gateway.url });
    expect([sameSite.status, sameSite.headers.get("location")]).toEqual([303, "/__gateway/?reset=1"]);
  });

  it("signs out", async () => {
    await Promise.all([page.waitForNavigation(), page.click("header button[type=submit]")]);
    expect(await page.cookies()).toEqual([]);
    expect(await page.$("#token")).not.toBeNull();
  });
});
