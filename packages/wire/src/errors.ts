/**
 * Parse results. Malformed or truncated wire input never throws out of a parser:
 * it returns a ParseError whose stable `code` names the field, so the engine can
 * count the drop under the matching FreeBSD counter (ipstat.ips_badhlen, ...).
 */
export type WireErrorCode =
  | 'TRUNCATED' // buffer shorter than the header (or a length field) says
  | 'BAD_VERSION' // IP version nibble is not the expected one
  | 'BAD_HEADER_LEN' // IHL / data offset / extension length out of range
  | 'BAD_TOTAL_LEN' // IPv4 total length / IPv6 payload length / UDP length inconsistent
  | 'BAD_CHECKSUM' // a checksum that the parser was asked to verify is wrong
  | 'BAD_OPTION' // an option whose length is impossible (TCP, IPv4, IPv6 TLV)
  | 'BAD_FIELD' // any other impossible field value (named in `field`)
  | 'UNSUPPORTED'; // valid on the wire but not representable here (named in `field`)

export interface ParseError {
  readonly ok: false;
  readonly code: WireErrorCode;
  /** The header field (`ipv4.ihl`, `tcp.option.mss`...) that made the input invalid. */
  readonly field: string;
}

export interface Parsed<T> {
  readonly ok: true;
  readonly value: T;
}

export type ParseResult<T> = Parsed<T> | ParseError;

export function parseError(code: WireErrorCode, field: string): ParseError {
  return { ok: false, code, field };
}

export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/**
 * Thrown only for programming errors by a caller of an emitter (a buffer too small
 * for `bufferLen()`, a field out of range): never for wire input.
 */
export class WireEmitError extends RangeError {
  readonly code: 'MCSTACK_WIRE_EMIT';
  constructor(message: string) {
    super(message);
    this.code = 'MCSTACK_WIRE_EMIT';
  }
}
