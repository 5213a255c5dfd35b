/**
 * vxlan(4) parameters of a jail's vxlan interface (worker/jailvxlan.ts): the remote's
 * address is kept in the form a datagram's source is reported in, since receive()
 * drops every datagram whose source is not the remote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVxlanParams } from '../src/worker/jailvxlan.js';

test('vxlan: addresses are kept as a datagram source reads (inet_ntop), so a spelling matches', () => {
  const p = parseVxlanParams(['vxlanid', '42', 'vxlanlocal', '2001:DB8:0:0::1', 'vxlanremote', '2001:0db8::0002']);
  assert.equal(p.local, '2001:db8::1');
  assert.equal(p.remote, '2001:db8::2');
  assert.equal(p.vni, 42);
  assert.equal(
    parseVxlanParams(['vxlanid', '1', 'vxlanlocal', '10.0.0.1', 'vxlanremote', '10.0.0.2']).remote,
    '10.0.0.2',
  );
  assert.throws(() => parseVxlanParams(['vxlanid', '1', 'vxlanlocal', '10.0.0.1', 'vxlanremote', 'x']), {
    code: 'EINVAL',
  });
});
