/**
 * vxlan(4) interfaces of the vnet worker's jails: a jail's link to real hosts. Each is an
 * Ethernet interface of the jail's stack whose frames travel in UDP datagrams (RFC 7348:
 * an 8-byte VXLAN header, the I flag and the 24-bit VNI) to one remote endpoint, as
 * FreeBSD's `ifconfig vxlan0 create vxlanid N vxlanlocal A vxlanremote B vxlanlocalport P
 * vxlanremoteport Q` makes it (unicast only: no multicast group, no learning table). The
 * other end is another mcstack jail's vxlan, or Linux's (`ip link add ... type vxlan id N
 * remote A dstport P`).
 *
 * A datagram from another address or port, too short, without the I flag or for another
 * VNI is a counted drop (ifi_ierrors); wire input never throws. A vxlan interface stays in
 * the jail that made it (moving it is EOPNOTSUPP) and goes with it.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIP, SocketAddress } from 'node:net';
import { SysError, type Engine, type Ifnet } from '@mcstack/netinet';
import { ETHER_HDR_LEN } from '@mcstack/wire';

/** RFC 7348 §5: the header before the inner frame, and its I flag (a valid VNI). */
const VXLAN_HDR_LEN = 8;
const VXLAN_F_I = 0x08;
/** IANA's VXLAN port, FreeBSD's default for both ends. */
const VXLAN_PORT = 4789;
/** FreeBSD's vxlan MTU: 1500 less the outer IPv4, UDP, VXLAN and inner Ethernet headers. */
const VXLAN_MTU = 1450;

interface Vxlan {
  readonly name: string;
  readonly engine: Engine;
  readonly ifp: Ifnet;
  readonly vni: number;
  readonly remote: { address: string; port: number };
  readonly sock: dgram.Socket;
}

/** The words after `vxlanN create`: vxlanid, vxlanlocal, vxlanremote, vxlanlocalport, vxlanremoteport. */
export interface VxlanParams {
  vni: number;
  local: string;
  remote: string;
  localPort: number;
  remotePort: number;
}

const einval = (msg: string) => new SysError('EINVAL', msg, 'ifconfig');

/** Parse `vxlanid N vxlanlocal A vxlanremote B [vxlanlocalport P] [vxlanremoteport Q]`; EINVAL naming the word. */
export function parseVxlanParams(words: readonly string[]): VxlanParams {
  const p: Partial<VxlanParams> = { localPort: VXLAN_PORT, remotePort: VXLAN_PORT };
  for (let i = 0; i < words.length; i += 2) {
    const w = words[i]!;
    const v = words[i + 1];
    if (v === undefined) throw einval(`'${w}' needs a value`);
    const port = () => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw einval(`${w}: ${v} is not a port`);
      return n;
    };
    const addr = () => {
      const family = isIP(v);
      if (family === 0) throw einval(`${w}: ${v} is not an address`);
      // In the form a datagram's source is reported in (inet_ntop's), so receive() can
      // compare strings: 2001:DB8:0::1 would otherwise never match 2001:db8::1.
      return new SocketAddress({ address: v, family: family === 6 ? 'ipv6' : 'ipv4' }).address;
    };
    if (w === 'vxlanid') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 0xffffff) throw einval(`vxlanid: ${v} is not a VNI (0..16777215)`);
      p.vni = n;
    } else if (w === 'vxlanlocal') p.local = addr();
    else if (w === 'vxlanremote') p.remote = addr();
    else if (w === 'vxlanlocalport') p.localPort = port();
    else if (w === 'vxlanremoteport') p.remotePort = port();
    else throw einval(`unknown vxlan parameter '${w}'`);
  }
  if (p.vni === undefined || p.local === undefined || p.remote === undefined)
    throw einval('vxlan needs vxlanid, vxlanlocal and vxlanremote');
  if (isIP(p.local) !== isIP(p.remote)) throw einval('vxlanlocal and vxlanremote are of different families');
  return p as VxlanParams;
}

export class JailVxlans {
  private readonly byName = new Map<string, Vxlan>();

  /** `input(name, frame)`: a frame arrived for interface `name` (the worker hands it to its jail and pumps). */
  constructor(private readonly input: (name: string, frame: Uint8Array) => void) {}

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** `ifconfig vxlanN create ...` in the jail of `engine`: the interface, up, its socket bound. EEXIST, EADDRINUSE. */
  async create(engine: Engine, name: string, p: VxlanParams): Promise<void> {
    if (!/^vxlan\d+$/.test(name)) throw einval(`${name}: a vxlan interface is named vxlanN`);
    if (this.byName.has(name) || engine.ifunit(name) !== null)
      throw new SysError('EEXIST', `interface ${name} exists`, 'ifconfig');
    const sock = dgram.createSocket(isIP(p.local) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', (e: NodeJS.ErrnoException) => {
        sock.close();
        reject(new SysError(e.code ?? 'EINVAL', e.message, 'ifconfig vxlan'));
      });
      sock.bind({ address: p.local, port: p.localPort }, () => {
        sock.removeAllListeners('error');
        resolve();
      });
    });
    // A locally administered address, random as FreeBSD's vxlan gets one.
    const lladdr = Uint8Array.from([0x02, ...randomBytes(5)]);
    const ifp = engine.ifattach({ name, type: 'ether', lladdr, mtu: VXLAN_MTU });
    engine.setUp(ifp, true);
    const v: Vxlan = { name, engine, ifp, vni: p.vni, remote: { address: p.remote, port: p.remotePort }, sock };
    sock.on('message', (msg, rinfo) => this.receive(v, msg, rinfo));
    // A send that fails (nobody listening yet) is an output error, never a throw.
    sock.on('error', () => {
      v.ifp.data.ifi_oerrors++;
    });
    this.byName.set(name, v);
  }

  private receive(v: Vxlan, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (
      rinfo.address !== v.remote.address ||
      rinfo.port !== v.remote.port ||
      msg.length < VXLAN_HDR_LEN + ETHER_HDR_LEN ||
      (msg[0]! & VXLAN_F_I) === 0 ||
      ((msg[4]! << 16) | (msg[5]! << 8) | msg[6]!) !== v.vni
    ) {
      v.ifp.data.ifi_ierrors++;
      return;
    }
    this.input(v.name, msg.subarray(VXLAN_HDR_LEN));
  }

  /** A frame the jail's stack sent on `ifp`: true when it was a vxlan's (and went out). */
  transmit(ifp: Ifnet, frame: Uint8Array): boolean {
    const v = this.byName.get(ifp.name);
    if (v === undefined || v.ifp !== ifp) return false;
    const b = Buffer.allocUnsafe(VXLAN_HDR_LEN + frame.length);
    b.writeUInt32BE(VXLAN_F_I << 24, 0);
    b.writeUInt32BE(v.vni << 8, 4);
    b.set(frame, VXLAN_HDR_LEN);
    v.sock.send(b, v.remote.port, v.remote.address);
    return true;
  }

  /** `ifconfig vxlanN destroy`, or its jail going: detached from the stack, socket closed. */
  destroy(name: string): void {
    const v = this.byName.get(name);
    if (v === undefined) return;
    this.byName.delete(name);
    if (!v.engine.destroyed) v.engine.ifdetach(v.ifp);
    // dgram resolves the remote before it sends, on a later tick: closing now would drop the
    // last frames (a removed jail's RSTs).
    setImmediate(() => v.sock.close());
  }

  /** Every vxlan of the jail whose stack is `engine` (jail -r). */
  destroyAll(engine: Engine): void {
    for (const v of [...this.byName.values()]) if (v.engine === engine) this.destroy(v.name);
  }
}
