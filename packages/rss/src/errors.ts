/**
 * Bad caller input to the RSS library (a key too short, a bucket count that is not a
 * power of two, a worker out of range) is a typed error with a stable Node errno-style
 * `code`, as FreeBSD's rss_config returns EINVAL to sysctl writers.
 */
export class RssError extends RangeError {
  readonly code: 'EINVAL';
  constructor(message: string) {
    super(message);
    this.name = 'RssError';
    this.code = 'EINVAL';
  }
}
