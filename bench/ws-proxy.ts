/**
 * A minimal WebSocket-to-TCP proxy in the shape of Neon's wsproxy, so the `@neondatabase/serverless` Pool/Client
 * (WebSocket mode) can reach a plain local Postgres. It only pipes bytes, and it dials one configured address.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { type RawData, WebSocketServer } from "ws";

export interface WsProxyOptions {
  /** The only Postgres address a client may ask for, as `host:port`, e.g. `127.0.0.1:5432`. */
  allowedAddress: string;
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
}

/** Traffic counters, so a benchmark can report round trips per connection. */
export interface WsProxyStats {
  connections: number;
  /** Times Postgres answered after the client had sent something since its last answer. */
  roundTrips: number;
}

export interface WsProxy {
  /** What `neonConfig.wsProxy` should return for a host and port, without the scheme. */
  addressFor(host: string, port: number | string): string;
  port: number;
  stats(): WsProxyStats;
  resetStats(): void;
  close(): Promise<void>;
}

/**
 * Starts the proxy: WebSocket upgrades on `/v1?address=host:port`, one TCP connection per WebSocket.
 * @example const proxy = await startWsProxy({ allowedAddress: "127.0.0.1:5432" });
 */
export async function startWsProxy({ allowedAddress, port = 0, host = "127.0.0.1" }: WsProxyOptions): Promise<WsProxy> {
  const [targetHost, targetPort] = splitAddress(allowedAddress);
  let stats: WsProxyStats = { connections: 0, roundTrips: 0 };
  const server = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket upgrade required on /v1\n");
  });
  const wss = new WebSocketServer({ noServer: true });

  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://ws-proxy.invalid");
    if (url.pathname !== "/v1" || url.searchParams.get("address") !== allowedAddress) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      stats.connections += 1;
      const tcp = connect(targetPort, targetHost);
      // The driver sends its startup message at once; hold messages until the TCP connection is up.
      const early: Buffer[] = [];
      let connected = false;
      let clientSpoke = false;
      tcp.setNoDelay(true);
      tcp.on("connect", () => {
        connected = true;
        for (const chunk of early.splice(0)) tcp.write(chunk);
      });
      ws.on("message", (data: RawData) => {
        clientSpoke = true;
        const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        if (connected) tcp.write(chunk);
        else early.push(chunk);
      });
      tcp.on("data", (chunk) => {
        if (clientSpoke) stats.roundTrips += 1;
        clientSpoke = false;
        ws.send(chunk, { binary: true });
      });
      ws.on("close", () => tcp.end());
      ws.on("error", () => tcp.destroy());
      tcp.on("close", () => ws.close());
      tcp.on("error", () => ws.terminate());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const boundPort = (server.address() as AddressInfo).port;

  return {
    addressFor: (dbHost, dbPort) => `${host}:${boundPort}/v1?address=${dbHost}:${dbPort}`,
    port: boundPort,
    stats: () => ({ ...stats }),
    resetStats: () => {
      stats = { connections: 0, roundTrips: 0 };
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function splitAddress(address: string): [string, number] {
  const match = /^(.+):(\d+)$/.exec(address);
  if (match === null) throw new TypeError(`startWsProxy: allowedAddress must be host:port, e.g. 127.0.0.1:5432 (got "${address}")`);
  return [match[1]!, Number(match[2])];
}
