/**
 * What the runner needs from the stack under test: raw IP packets in and out on a
 * tun-like interface, a virtual clock, socket calls returning a value or -errno, the
 * sysctl tree, tcp_info, and the TCP connection list (`net.inet.tcp.pcblist`, which
 * sockstat reads, and the drop tcpdrop performs). engine-stack.ts implements it over
 * the mcstack engine; tests may implement it over anything.
 */

export interface StackConfig {
  family: 4 | 6;
  /** The local host's address on the tun interface, and the remote's. */
  localIp: string;
  remoteIp: string;
  /** Prefix length of the local subnet (the remote is routed through it). */
  prefixLen: number;
  mtu: number;
  seed: number;
}

/** tcp_info fields by their FreeBSD names (`tcpi_state`, `tcpi_options`...). */
export type TcpInfo = Readonly<Record<string, number>>;

/** One row of the TCP connection list. */
export interface PcbEntry {
  family: 4 | 6;
  localPort: number;
  remotePort: number;
  /** TCPS_* state number (FreeBSD tcp_fsm.h). */
  state: number;
  /** A process still holds a descriptor for it (sockstat shows the owner, else "??"). */
  hasFd: boolean;
}

export interface DrillStack {
  /** Where the stack's outbound raw IP packets go (called synchronously). */
  onOutput(cb: (packet: Uint8Array) => void): void;
  /** Hand a raw IP packet to the stack at virtual time `now` (µs). */
  input(packet: Uint8Array, now: number): void;
  /** Run every timer due at or before `now`. */
  advance(now: number): void;
  /** The earliest pending timer (absolute µs), or undefined. */
  nextTimeout(): number | undefined;

  socket(family: 4 | 6, type: 'stream' | 'dgram'): number;
  bind(fd: number, addr: string, port: number): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number): number;
  connect(fd: number, addr: string, port: number): number;
  send(fd: number, data: Uint8Array, flags: number): number;
  recv(fd: number, buf: Uint8Array, flags: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  /** poll(2) event bits (POLLIN, POLLOUT, POLLERR, POLLHUP). */
  poll(fd: number): number;
  /** A numeric option value, or -errno. */
  getsockopt(fd: number, level: number, name: number): number;
  setsockopt(fd: number, level: number, name: number, value: number): number;
  tcpInfo(fd: number): TcpInfo | number;
  /** `sysctl -w name=value`; throws an Error with `code` (ENOENT, EINVAL, EPERM) on failure. */
  sysctl(name: string, value: string): void;
  /** Every TCP connection, TIME_WAIT and syncache (SYN_RCVD) entries included. */
  pcbList(): PcbEntry[];
  /** tcpdrop -s STATE: drop every connection in that TCPS_* state; returns how many. */
  dropState(state: number): number;
  /** `setkey -c` input (TCP-MD5 SAs, netinet's tools.parseSetkey); throws an Error with `code` on failure. */
  setkey(text: string): void;
}
