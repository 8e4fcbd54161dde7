/** Short error answers from the gateway itself: problem+json for JSON clients, plain text otherwise. */

/** Clients that asked for JSON (an API or an XHR) get JSON, as django-axes does. */
export function wantsJson(request: Request): boolean {
  const accept = request.headers.get("accept") ?? "";
  return (
    /application\/(?:[\w.+-]*\+)?json/i.test(accept) ||
    request.headers.get("x-requested-with")?.toLowerCase() === "xmlhttprequest"
  );
}

export function gatewayErrorResponse(request: Request, status: number, title: string, detail: string, headers: HeadersInit = {}): Response {
  const out = new Headers(headers);
  out.set("cache-control", "no-store");
  if (wantsJson(request)) {
    out.set("content-type", "application/problem+json");
    return new Response(JSON.stringify({ type: "about:blank", title, status, detail }), { status, headers: out });
  }
  out.set("content-type", "text/plain; charset=utf-8");
  return new Response(`${title}: ${detail}\n`, { status, headers: out });
}
