/**
 * What `mcstack serve` prints once it is up, for the default demo, a TAP link into a
 * namespace and a UDP tunnel: the addresses, the apps and their ports, where cxgbe0
 * leads, and three commands to run next (with --socket when the tools would not find
 * the socket by themselves).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, welcomeText } from '@mcstack/cli/daemon';

const facts = {
  socket: '/run/user/0/mcstack.sock',
  defaultSocket: '/run/user/0/mcstack.sock',
  workers: 2,
  strategy: 'rss-groups',
};

const tryNext = (text: string): string[] => text.split('\n').slice(text.split('\n').indexOf('try next:') + 1);

test('the default demo: addresses, apps and ports, the peer, three commands with a capture last', () => {
  const t = welcomeText(defaultConfig(), facts);
  assert.match(
    t,
    /^mcstack: serving stack 'mcstack' \(2 workers, rss-groups\); control socket \/run\/user\/0\/mcstack\.sock$/m,
  );
  assert.match(t, /^ {2}cxgbe0 +10\.0\.0\.1\/24 fd00::1\/64$/m);
  assert.match(t, /^ {2}apps +echo on 7, discard on 9, http-lite on 80$/m);
  assert.match(t, /in-memory link to stack 'peer' \(10\.0\.0\.2\/24 fd00::2\/64\)/);
  const next = tryNext(t);
  assert.equal(next.length, 3);
  assert.match(next[0]!, /^ {2}npx mcstack netstat -np tcp +# /);
  assert.match(next[1]!, /^ {2}npx mcstack sockstat -46c +# /);
  assert.match(next[2]!, /^ {2}npx mcstack capture -i cxgbe0 /);
  assert.doesNotMatch(t, /--socket/);
});

test('a TAP link into a namespace: the last command is curl from that namespace; --socket when not the default', () => {
  const t = welcomeText(
    {
      name: 'edge',
      addrs: ['10.0.0.1/24'],
      apps: [{ name: 'http-lite', port: 8080 }],
      links: [{ type: 'tap', name: 'tap0', netns: 'ns1', addrs: ['10.0.0.2/24'] }],
    },
    { ...facts, socket: '/tmp/x.sock', workers: 1 },
  );
  assert.match(t, /\(1 worker, rss-groups\)/);
  assert.match(t, /^ {2}link +TAP device tap0 in network namespace ns1 \(Linux's side: 10\.0\.0\.2\/24\)$/m);
  const next = tryNext(t);
  assert.match(next[0]!, /netstat -np tcp --socket \/tmp\/x\.sock/);
  assert.match(next[2]!, /^ {2}sudo ip netns exec ns1 curl http:\/\/10\.0\.0\.1:8080\/ +# /);
});

test('a UDP tunnel with echo only: nc is not offered where nothing can reach it; the capture is', () => {
  const t = welcomeText(
    {
      addrs: ['fd00::1/64'],
      apps: [{ name: 'echo', port: 7 }],
      links: [{ type: 'udp-tunnel', local: '127.0.0.1:4001', remote: '127.0.0.1:4002' }],
    },
    facts,
  );
  assert.match(t, /^ {2}link +a UDP tunnel 127\.0\.0\.1:4001 → 127\.0\.0\.1:4002$/m);
  assert.match(tryNext(t)[2]!, /capture -i cxgbe0/);
});
