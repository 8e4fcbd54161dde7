/** The lifecycle the local tools share: listen on a port, hand back a handle, close without waiting on clients. */
import type { Server } from "node:http";
import { type AddressInfo, createServer } from "node:net";

/** A running local tool with request counters; each tool adds its own controls. */
export interface LocalServer<Stats> {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8079`. */
  url: string;
  /** The port actually bound, which differs from the one asked for when that was 0. */
  port: number;
  stats(): Stats;
  resetStats(): void;
  close(): Promise<void>;
}

/** Starts `server` listening and resolves with its base URL and bound port; rejects if the port cannot be bound. */
export function listen(server: Server, port: number, host: string): Promise<{ url: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const bound = (server.address() as AddressInfo).port;
      resolve({ url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}`, port: bound });
    });
  });
}

/** Stops listening, drops open connections (keep-alive ones would hold `close` open) and resolves once closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // Closing twice is harmless, so the only error `close` reports (ERR_SERVER_NOT_RUNNING) is not one.
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A loopback TCP port nobody listens on right now (for wrangler's own ports). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
