/**
 * The connection a script is talking to (packetdrill's `socket_under_test`): its live
 * 4-tuple and the offsets between script and live sequence numbers and TCP timestamps
 * (run_packet.c). The script writes the local host's sequence numbers relative to the
 * ISN of its SYN or SYN-ACK line (normally 0) and the remote's as sent; inbound ACK and
 * SACK fields are shifted by (live local ISN - script local ISN), outbound sequence
 * numbers shifted back. Inbound TS ecr values name outbound TS vals of the script and
 * are replaced by the live values seen for them.
 */

export class Flow {
  /** Set once the engine's SYN / SYN-ACK has been seen. */
  localIsnLive = 0;
  localIsnScript = 0;
  localIsnKnown = false;
  /** The remote (script) ISN: the script's own numbers go on the wire unchanged. */
  remoteIsn = 0;
  /** Outbound TS val as written in the script → the value the engine sent. */
  private readonly tsVals = new Map<number, number>();
  private firstTs: { script: number; live: number } | undefined;
  /** --tcp_md5_secret: the key `md5 valid` options are signed and checked with (RFC 2385). */
  md5Key: Uint8Array | null = null;
  /**
   * --udp_encapsulation=tcp: every segment travels inside UDP, between these ports unless
   * a line says `/udp(src > dst)` (the local one is the stack's udp_tunneling_port).
   */
  udpEncaps: { local: number; remote: number } | null = null;

  constructor(
    readonly family: 4 | 6,
    readonly local: Uint8Array,
    readonly remote: Uint8Array,
    public localPort: number,
    public remotePort: number,
  ) {}

  /** Script local sequence number → live (inbound ACK and SACK fields, ICMP quotes). */
  localToLive(seq: number): number {
    return (seq + this.localIsnLive - this.localIsnScript) >>> 0;
  }

  /** Live local sequence number → script (outbound seq). */
  localToScript(seq: number): number {
    return (seq - this.localIsnLive + this.localIsnScript) >>> 0;
  }

  learnLocalIsn(scriptIsn: number, liveIsn: number): void {
    this.localIsnScript = scriptIsn >>> 0;
    this.localIsnLive = liveIsn >>> 0;
    this.localIsnKnown = true;
  }

  /** Remember which live TS val an outbound script TS val stood for. */
  noteTsVal(scriptVal: number, liveVal: number): void {
    this.tsVals.set(scriptVal >>> 0, liveVal >>> 0);
    this.firstTs ??= { script: scriptVal >>> 0, live: liveVal >>> 0 };
  }

  /**
   * The live TS ecr for a script one: the exact value seen for that script TS val, or
   * (as packetdrill does with tcp_ts_ecr_scaled) one interpolated from the first
   * outbound timestamp; the script value itself when no timestamp was seen yet.
   */
  tsEcrToLive(scriptEcr: number): number {
    const v = this.tsVals.get(scriptEcr >>> 0);
    if (v !== undefined) return v;
    if (this.firstTs) return (scriptEcr - this.firstTs.script + this.firstTs.live) >>> 0;
    return scriptEcr >>> 0;
  }
}
