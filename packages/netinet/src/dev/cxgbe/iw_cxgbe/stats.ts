/** The device's counters (`mcstack rdma` prints them; the card's sysctl tree shows them). */
export class IwStats {
  txFpdus = 0;
  rxFpdus = 0;
  txWriteBytes = 0;
  rxWriteBytes = 0;
  txSendBytes = 0;
  rxSendBytes = 0;
  txReadRespBytes = 0;
  rxReadRespBytes = 0;
  txTerminates = 0;
  rxTerminates = 0;
  /** FPDUs whose CRC did not match (RFC 5044 §8, MPA_ERR_CRC). */
  crcErrors = 0;
  /** Markers that did not point at their FPDU (MPA_ERR_MARKER). */
  markerErrors = 0;
  /** Sends that found no receive posted (DDP: Invalid MSN, no buffer). */
  noRecvBuffer = 0;
  /** Work requests completed with IBV_WC_WR_FLUSH_ERR. */
  flushed = 0;
  /** MPA Request/Reply frames that were not (RFC 5044 §7.1, MPA_ERR_REQ_REP). */
  mpaBadFrames = 0;
  mpaRejects = 0;
  /** Startups dropped by the MPA timer (no Request or Reply in time). */
  mpaTimeouts = 0;
  connects = 0;
  accepts = 0;

  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
