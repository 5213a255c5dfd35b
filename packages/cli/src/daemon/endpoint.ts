/**
 * The control socket's framing: one JSON message per line. Byte arrays travel as
 * `{"$u8": base64}` (a capture's pcapng); everything else is plain JSON.
 *
 * Lines are read in linear time: each byte is scanned for the newline once, and a line's
 * pieces are joined once, when it ends; a line longer than the reader's maximum is
 * refused as soon as it is (it is never buffered whole). The daemon reads requests with
 * a small maximum (a request is a method name and a few words); the tools read replies
 * with a large one (a capture of a few thousand full-size frames fits).
 */

/** Longest request line the daemon reads: past it, an EMSGSIZE reply and the connection closed. */
export const MAX_REQUEST_LINE = 1 << 20;
/** Longest reply line a tool reads (a capture's pcapng in base64). */
export const MAX_REPLY_LINE = 256 << 20;

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return { $u8: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return v;
}

function reviver(_k: string, v: unknown): unknown {
  if (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { $u8?: unknown }).$u8 === 'string' &&
    Object.keys(v).length === 1
  ) {
    return new Uint8Array(Buffer.from((v as { $u8: string }).$u8, 'base64'));
  }
  return v;
}

/** Encode one message as a line. */
export function encodeMessage(msg: unknown): string {
  return `${JSON.stringify(msg, replacer)}\n`;
}

/** Decode one line (without its newline); throws SyntaxError when it is not JSON. */
export function decodeMessage(line: string): unknown {
  return JSON.parse(line, reviver);
}

/**
 * Splits a byte stream into lines (UTF-8, newline removed, empty lines skipped). Past
 * `max` bytes without a newline it calls `overflow` once and reads nothing more.
 */
export class LineReader {
  private parts: Buffer[] = [];
  private held = 0;
  private stopped = false;

  constructor(
    private readonly max: number,
    private readonly line: (text: string) => void,
    private readonly overflow: () => void,
  ) {}

  /** Read nothing more (what is buffered is dropped). */
  stop(): void {
    this.stopped = true;
    this.parts = [];
    this.held = 0;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (!this.stopped) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      if (this.held + (end - start) > this.max) {
        this.stop();
        this.overflow();
        return;
      }
      if (nl < 0) {
        if (end > start) {
          this.parts.push(start === 0 ? chunk : chunk.subarray(start));
          this.held += end - start;
        }
        return;
      }
      const piece = chunk.subarray(start, nl);
      const whole = this.held === 0 ? piece : Buffer.concat([...this.parts, piece], this.held + piece.length);
      this.parts = [];
      this.held = 0;
      start = nl + 1;
      if (whole.length > 0) this.line(whole.toString('utf8'));
    }
  }
}
