/**
 * A handle's share in keeping the process alive, as node's handles ref the event loop: an
 * open handle that is ref'd (the default) counts in its McNet's holds (`_hold`); unref()
 * and its close let go, and ref() holds again while it is open. (Not TCP keep-alive, which
 * is setKeepAlive's SO_KEEPALIVE.)
 */
export class HandleRef {
  private refd = true;
  private holding = false;

  /** `count`: the McNet's `_hold`; `open`: whether the handle is open now. */
  constructor(
    private readonly count: (delta: 1 | -1) => void,
    private readonly open: () => boolean,
  ) {}

  /** The handle opened (or ref() was called): hold while ref'd and open. */
  hold(): void {
    if (this.refd && !this.holding && this.open()) {
      this.holding = true;
      this.count(1);
    }
  }

  /** The handle closed (or unref() was called): stop holding. */
  letGo(): void {
    if (this.holding) {
      this.holding = false;
      this.count(-1);
    }
  }

  ref(): void {
    this.refd = true;
    this.hold();
  }

  unref(): void {
    this.refd = false;
    this.letGo();
  }
}
