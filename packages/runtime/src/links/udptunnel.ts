/**
 * A UDP tunnel link: Ethernet frames travel one per UDP datagram (node:dgram) to a
 * peer at host:port, which is another mcstack's tunnel or socat's UDP-DATAGRAM side of
 * a TAP bridge (tap.ts). Two stacks on two machines joined this way form one Ethernet.
 *
 * No encapsulation header: the datagram payload is the frame, as socat reads and
 * writes it from an IFF_NO_PI TAP device. Datagrams shorter than an Ethernet header
 * (runts) or longer than the MTU allows with a VLAN tag (giants), and datagrams from
 * anyone but the configured peer, are counted drops; wire input never throws.
 *
 * node:dgram keeps the buffer handed to send() until the datagram has left, so
 * transmit() copies the frame (Buffer.allocUnsafe: a slice of Node's pooled slab for
 * frames this small); on receive Node hands over a fresh Buffer per datagram.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { ETHER_HDR_LEN, ETHER_VLAN_ENCAP_LEN } from '@mcstack/wire';
import { SysError } from '@mcstack/netinet';

const DEFAULT_BUFFER = 4 << 20;

/** What a frame link offers the real-time loop: frames in through `onframe`, out through `transmit`. */
export interface FrameLink {
  readonly name: string;
  /** Called for every frame received (valid during the call only). */
  onframe: ((frame: Uint8Array) => void) | null;
  /** Queue one frame for the wire (copied before return); false when it was dropped. */
  transmit(frame: Uint8Array): boolean;
  close(): Promise<void>;
}

export interface UdpTunnelOptions {
  /** Interface-ish name, for messages and counters (default `udptun0`). */
  name?: string;
  /** Where our datagrams go (a numeric address: datagrams are matched against it). */
  remote: { address: string; port: number };
  /** Address and port to bind (default the remote's loopback family, port 0: any free port). */
  local?: { address?: string; port?: number };
  /** The interface MTU: frames up to mtu + 14 + 4 (one VLAN tag) bytes are carried. */
  mtu?: number;
  /** Accept datagrams only from `remote` (default true); others are counted in `foreign`. */
  strictPeer?: boolean;
  /**
   * SO_RCVBUF and SO_SNDBUF to ask for (default 4 MiB; the kernel caps them at
   * net.core.[rw]mem_max). An engine sends a congestion window at once: a buffer smaller
   * than that overflows at the reader and TCP has to recover.
   */
  bufferSize?: number;
}

/** Counters, named as if_data's where one fits. */
export interface UdpTunnelStats {
  ipackets: number;
  ibytes: number;
  opackets: number;
  obytes: number;
  /** Datagrams shorter than an Ethernet header: dropped. */
  runts: number;
  /** Datagrams longer than the MTU allows: dropped. */
  giants: number;
  /** Datagrams from an address or port other than the peer's: dropped. */
  foreign: number;
  /** Frames given to transmit() that were too long to send: dropped. */
  oqdrops: number;
  /** Send errors reported by the socket. */
  oerrors: number;
}

export class UdpTunnel implements FrameLink {
  readonly name: string;
  readonly mtu: number;
  readonly stats: UdpTunnelStats = {
    ipackets: 0,
    ibytes: 0,
    opackets: 0,
    obytes: 0,
    runts: 0,
    giants: 0,
    foreign: 0,
    oqdrops: 0,
    oerrors: 0,
  };
  onframe: ((frame: Uint8Array) => void) | null = null;
  private readonly sock: dgram.Socket;
  private readonly remote: { address: string; port: number };
  private readonly strict: boolean;
  private readonly maxFrame: number;
  private closed = false;

  private constructor(sock: dgram.Socket, o: UdpTunnelOptions) {
    this.sock = sock;
    this.name = o.name ?? 'udptun0';
    this.mtu = o.mtu ?? 1500;
    this.remote = { address: o.remote.address, port: o.remote.port };
    this.strict = o.strictPeer ?? true;
    this.maxFrame = this.mtu + ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN;
    sock.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    // Without a send callback, a failed send is emitted here (ICMP errors are not
    // reported on an unconnected socket on Linux): counted, never thrown.
    sock.on('error', () => {
      this.stats.oerrors++;
    });
  }

  /** Bind the socket and return the tunnel (EADDRINUSE etc. as a SysError). */
  static async open(o: UdpTunnelOptions): Promise<UdpTunnel> {
    if (!Number.isInteger(o.remote.port) || o.remote.port <= 0 || o.remote.port > 65535) {
      throw new SysError('EINVAL', `remote port ${o.remote.port}`, 'udptunnel');
    }
    const mtu = o.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535 - 8 - 40 - ETHER_HDR_LEN - ETHER_VLAN_ENCAP_LEN) {
      throw new SysError('EINVAL', `mtu ${mtu}`, 'udptunnel');
    }
    const v6 = isIPv6(o.remote.address);
    const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException) => {
        sock.close();
        reject(new SysError(e.code ?? 'EINVAL', e.message, 'udptunnel bind'));
      };
      sock.once('error', fail);
      sock.bind({ address: o.local?.address ?? (v6 ? '::1' : '127.0.0.1'), port: o.local?.port ?? 0 }, () => {
        sock.off('error', fail);
        resolve();
      });
    });
    // Best effort: a smaller buffer than asked is still a working tunnel.
    const size = o.bufferSize ?? DEFAULT_BUFFER;
    try {
      sock.setRecvBufferSize(size);
      sock.setSendBufferSize(size);
    } catch {
      /* capped */
    }
    return new UdpTunnel(sock, o);
  }

  /** The bound local address and port. */
  address(): { address: string; port: number } {
    const a = this.sock.address();
    return { address: a.address, port: a.port };
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.strict && (rinfo.port !== this.remote.port || rinfo.address !== this.remote.address)) {
      this.stats.foreign++;
      return;
    }
    const n = msg.length;
    if (n < ETHER_HDR_LEN) {
      this.stats.runts++;
      return;
    }
    if (n > this.maxFrame) {
      this.stats.giants++;
      return;
    }
    this.stats.ipackets++;
    this.stats.ibytes += n;
    this.onframe?.(msg);
  }

  transmit(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const n = frame.length;
    if (n < ETHER_HDR_LEN || n > this.maxFrame) {
      this.stats.oqdrops++;
      return false;
    }
    const b = Buffer.allocUnsafe(n);
    b.set(frame);
    // No callback: a failed send is emitted as 'error', counted in oerrors.
    this.sock.send(b, 0, n, this.remote.port, this.remote.address);
    this.stats.opackets++;
    this.stats.obytes += n;
    return true;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.onframe = null;
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}
