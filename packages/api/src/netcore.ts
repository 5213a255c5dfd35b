/**
 * What a Socket and a Server need of the McNet that made them: its channels to the
 * workers, its listener table, and its Socket class (accepted sockets are instances of
 * it). McNet implements it; Socket and Server depend on this, not on net.ts, so the
 * module that builds them is not also below them.
 */
import type { Channel, ListenerPeer } from './channel.js';

export interface NetCore<S = unknown> {
  /** The node:net-like Socket class of this stack. */
  readonly Socket: new (options?: {
    allowHalfOpen?: boolean;
  }) => S;
  /** The TOE card's channel when an active open to `faddr` is offloaded, else null. */
  _toeChannel?(faddr: string, fport: number): Channel | null;
  /** Passive offload of an accepted socket to the TOE card, when the stack has one and admits it. */
  _offloadAccepted?(s: S): void;
  /** A live worker's channel for an active open, round robin. */
  _pickChannel(): Channel | null;
  /** The channel of the worker a connection's segments reach (laddr is this stack's), else any live one. */
  _channelFor(tuple: { laddr: string; lport: number; faddr: string; fport: number }): Channel | null;
  /** Live channels. */
  _channels(): Channel[];
  /** The address of `family` a connection from this stack binds (the stack's first of it), or undefined. */
  _localAddress(family: 4 | 6): string | undefined;
  /** The wildcard address a listen without a host binds: '::' when the stack has IPv6, else '0.0.0.0'. */
  _wildcard(): string;
  /** One more (+1) or one less (-1) ref'd socket or server: while any is, the process stays alive. */
  _hold(delta: 1 | -1): void;
  _addListener(l: ListenerPeer): number;
  /** Replace the peer of listener id `lid` (a closing server's stand-in). */
  _setListener(lid: number, l: ListenerPeer): void;
  _removeListener(lid: number): void;
}
