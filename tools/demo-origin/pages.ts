import { DEMO_PASSWORD, DEMO_USERNAME } from "./credentials.ts";

/** The sentence Django's AuthenticationForm shows for wrong credentials (tests look for it). */
export const LOGIN_ERROR_TEXT = "Please enter a correct username and password.";

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} | Demo origin</title></head>
<body>
${body}
</body>
</html>
`;
}

/** What the home page reports about the request it answered. */
export interface HomePageInput {
  user: string | undefined;
  forwardedFor: string | undefined;
  realIp: string | undefined;
}

/** The home page: what this server is, the demo credentials, the session and the client-IP headers received. */
export function homePage({ user, forwardedFor, realIp }: HomePageInput): string {
  const session = user
    ? `<p>Logged in as <strong>${escapeHtml(user)}</strong>. <a href="/accounts/profile/">Profile</a></p>`
    : `<p>Not logged in. <a href="/accounts/login/">Log in</a></p>`;
  return layout(
    "Home",
    `<h1>Demo origin</h1>
<p>This is the demo origin (a Django-like backend) behind the login-protection gateway.</p>
${session}
<p>Demo credentials: username <code>${DEMO_USERNAME}</code>, password <code>${DEMO_PASSWORD}</code>.</p>
<dl>
<dt>X-Forwarded-For</dt><dd id="x-forwarded-for">${escapeHtml(forwardedFor ?? "(none)")}</dd>
<dt>X-Real-IP</dt><dd id="x-real-ip">${escapeHtml(realIp ?? "(none)")}</dd>
</dl>`,
  );
}

/** What the login form is rendered with. */
export interface LoginPageInput {
  /** The path the form posts back to. */
  action: string;
  /** Re-renders with Django's error, as after failed credentials. */
  failed: boolean;
  username?: string;
  next?: string;
}

/** A Django-style login form (`username`, `password`, optional hidden `next`). */
export function loginPage({ action, failed, username = "", next }: LoginPageInput): string {
  const error = failed
    ? `<ul class="errorlist nonfield"><li>${LOGIN_ERROR_TEXT} Note that both fields may be case-sensitive.</li></ul>\n`
    : "";
  const nextField = next ? `<input type="hidden" name="next" value="${escapeHtml(next)}">\n` : "";
  return layout(
    "Log in",
    `<h1>Log in</h1>
<form method="post" action="${escapeHtml(action)}">
${error}<p><label for="id_username">Username:</label>
<input type="text" name="username" id="id_username" value="${escapeHtml(username)}" autofocus autocapitalize="none" autocomplete="username" maxlength="150" required></p>
<p><label for="id_password">Password:</label>
<input type="password" name="password" id="id_password" autocomplete="current-password" required></p>
${nextField}<input type="submit" value="Log in">
</form>`,
  );
}

/** The profile page of a logged-in user, with a logout button. */
export function profilePage(user: string): string {
  return layout(
    "Profile",
    `<h1>Profile</h1>
<p>Logged in as <strong>${escapeHtml(user)}</strong>.</p>
<form method="post" action="/accounts/logout/"><input type="submit" value="Log out"></form>`,
  );
}
