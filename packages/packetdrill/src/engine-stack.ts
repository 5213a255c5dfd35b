/**
 * The mcstack engine as the stack under test: one Engine with a `tun0` interface
 * carrying raw IP packets (packetdrill's tun device) holding the local address, and
 * a route to the remote's prefix through it.
 */
import { Engine, tools } from '@mcstack/netinet';
import { tcpClose, tcpDrop } from '@mcstack/netinet';
import { ERRNO } from '@mcstack/netinet';
import { TCPS_LISTEN, TCPS_SYN_RECEIVED, TCPS_TIME_WAIT } from '@mcstack/netinet';
import type { DrillStack, PcbEntry, StackConfig, TcpInfo } from './stack.js';
import { UnsupportedError } from './packet.js';

const TUN = 'tun0';

export function createEngineStack(cfg: StackConfig): DrillStack {
  let sink: ((p: Uint8Array) => void) | undefined;
  const engine = new Engine({ seed: cfg.seed });
  const tun = engine.ifattach({ name: TUN, type: 'tun', mtu: cfg.mtu });
  engine.output = (ifp, frame) => {
    if (ifp === tun) sink?.(frame);
  };
  const remotePrefix = cfg.family === 4 ? `${cfg.remoteIp}/24` : `${cfg.remoteIp}/32`;
  const check = (what: string, r: number) => {
    if (r < 0) throw new Error(`engine setup: ${what} failed with errno ${-r}`);
  };
  check('ifconfig tun0 address', engine.addAddr(tun, `${cfg.localIp}/${cfg.prefixLen}`));
  engine.setUp(tun, true);
  check('route add', engine.addRoute(remotePrefix, tun));

  const num = (v: unknown, what: string): number => {
    if (typeof v === 'number') return v;
    throw new UnsupportedError(`${what} returns a ${typeof v} value`);
  };

  return {
    onOutput(cb) {
      sink = cb;
    },
    input(packet, now) {
      engine.input(tun, packet, now);
    },
    advance(now) {
      engine.advance(now);
    },
    nextTimeout() {
      const t = engine.nextTimeout();
      return Number.isFinite(t) ? t : undefined;
    },
    socket: (family, type) => engine.socket(family === 4 ? 'inet' : 'inet6', type),
    bind: (fd, addr, port) => engine.bind(fd, { addr, port }),
    listen: (fd, backlog) => engine.listen(fd, backlog),
    accept: (fd) => engine.accept(fd),
    connect: (fd, addr, port) => engine.connect(fd, { addr, port }),
    send: (fd, data, flags) => engine.send(fd, data, 0, data.length, flags),
    recv: (fd, buf, flags) => engine.recv(fd, buf, 0, buf.length, flags),
    shutdown: (fd, how) => engine.shutdown(fd, how),
    close: (fd) => engine.close(fd),
    poll: (fd) => engine.poll(fd),
    getsockopt: (fd, level, name) => num(engine.getsockopt(fd, level, name), `getsockopt(${level}, ${name})`),
    setsockopt: (fd, level, name, value) => engine.setsockopt(fd, level, name, value),
    tcpInfo(fd): TcpInfo | number {
      const info = engine.tcpInfo(fd);
      return typeof info === 'number' ? info : (info as unknown as TcpInfo);
    },
    sysctl(name, value) {
      engine.sysctl.set(name, value);
    },
    pcbList(): PcbEntry[] {
      const out: PcbEntry[] = [];
      for (const tp of engine.tcp.tcbs) {
        const inp = tp.inp;
        const so = inp.inp_socket;
        const family = inp.isV6 ? 6 : 4;
        const hasFd = so !== null && so.fd >= 0;
        out.push({ family, localPort: inp.inp_lport, remotePort: inp.inp_fport, state: tp.t_state, hasFd });
        // Syncache entries are listed with their listener (syncache_pcblist), no socket.
        if (tp.t_state === TCPS_LISTEN) {
          for (let n = engine.tcp.syncache.count(inp); n > 0; n--) {
            out.push({ family, localPort: inp.inp_lport, remotePort: 0, state: TCPS_SYN_RECEIVED, hasFd: false });
          }
        }
      }
      return out;
    },
    setkey(text) {
      engine.setkey(tools.parseSetkey(text));
    },
    dropState(state) {
      let n = 0;
      for (const tp of [...engine.tcp.tcbs]) {
        if (tp.t_state !== state) continue;
        // tcpdrop: a TIME_WAIT connection is just closed (tcp_twclose), others dropped.
        if (state === TCPS_TIME_WAIT) tcpClose(engine.tcp, tp);
        else tcpDrop(engine.tcp, tp, ERRNO.ECONNABORTED);
        n++;
      }
      engine.advance(engine.now);
      return n;
    },
  };
}
