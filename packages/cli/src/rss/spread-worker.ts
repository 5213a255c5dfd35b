/**
 * piscina worker for `rss spread`: hashes one batch of frames. Stateless; never imports
 * the pool. The batch arrives as its own (transferred) copy of the frames' bytes.
 */
import { FrameClassifier } from '@mcstack/rss';
import { hashFrames, type BatchResult } from './frame-hash.js';

export interface SpreadTask {
  key: Uint8Array;
  linkType: number;
  buf: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
}

export default function hashBatch(task: SpreadTask): BatchResult {
  return hashFrames(new FrameClassifier({ key: task.key }), task.buf, task.offsets, task.lengths, task.linkType);
}
