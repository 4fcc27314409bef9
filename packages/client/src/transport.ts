/**
 * The narrow socket interface the client speaks through. The default opens a
 * WebSocket with `ws`; unit tests pass a fake that talks to an in-memory server.
 */
import WebSocket from 'ws';

export interface SocketHandlers {
  onOpen(): void;
  onMessage(data: Uint8Array): void;
  /** Called once, whether the socket closed cleanly, failed to open, or errored. */
  onClose(code: number, reason: string, error?: Error): void;
}

export interface TransportSocket {
  send(data: Uint8Array): void;
  /** Start a clean close; `onClose` follows. */
  close(code?: number, reason?: string): void;
  /** Drop the socket now; `onClose` follows. */
  terminate(): void;
}

export interface Transport {
  open(url: string, handlers: SocketHandlers): TransportSocket;
}

/** WebSocket transport over `ws`; binary frames only, no compression (frames are small and hot). */
export const wsTransport: Transport = {
  open(url, handlers) {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    ws.binaryType = 'nodebuffer';
    let lastError: Error | undefined;
    let closed = false;
    ws.on('open', () => handlers.onOpen());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) handlers.onMessage(data);
      else ws.close(1003, 'binary frames only');
    });
    ws.on('error', (err: Error) => {
      lastError = err;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (closed) return;
      closed = true;
      handlers.onClose(code, reason.toString('utf8'), lastError);
    });
    return {
      send(data) {
        ws.send(data, { binary: true });
      },
      close(code = 1000, reason = '') {
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(code, reason);
      },
      terminate() {
        ws.terminate();
      },
    };
  },
};
