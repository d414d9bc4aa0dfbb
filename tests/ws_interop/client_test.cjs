// npm's `ws` as a client against iocpnet's WebSocket server (ws_peer
// server): text, binary, fragmented and 16 MiB messages echoed with their
// type, ping/pong, the close code echoed; a message over the server's
// max_message_size closed with 1009, invalid UTF-8 text with 1007.
// Usage: node client_test.cjs PORT (WS_DIR: where `ws` is installed).
'use strict';
const path = require('path');
const crypto = require('crypto');
const WebSocket = require(path.join(process.env.WS_DIR, 'node_modules', 'ws'));
const url = `ws://127.0.0.1:${process.argv[2]}/echo`;
let failed = 0;
const check = (ok, what) => { console.log(`${ok ? 'OK' : 'FAIL'} ${what}`); if (!ok) failed++; };

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 64 << 20 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
function next(ws) {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
}
function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

async function main() {
  const ws = await open();
  let m;
  ws.send('héllo');
  m = await next(ws);
  check(!m.isBinary && m.data.toString() === 'héllo', 'text echo');
  ws.send(Buffer.from([0, 1, 2]));
  m = await next(ws);
  check(m.isBinary && m.data.equals(Buffer.from([0, 1, 2])), 'binary echo');
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted', { fin: true });
  m = await next(ws);
  check(!m.isBinary && m.data.toString() === 'fragmented', 'fragmented text reassembled');
  const big = crypto.randomBytes(16 << 20);
  ws.send(big);
  m = await next(ws);
  check(m.isBinary && m.data.equals(big), '16 MiB binary echo');
  const pong = new Promise((resolve) => ws.once('pong', (d) => resolve(d.toString())));
  ws.ping('are you there');
  check((await pong) === 'are you there', 'ping answered with its payload');
  const c1 = closed(ws);
  ws.close(4000, 'done');
  check((await c1) === 4000, 'close code 4000 echoed');

  const ws2 = await open();
  const c2 = closed(ws2);
  ws2.send(Buffer.alloc((20 << 20) + 1, 1));
  check((await c2) === 1009, 'over max_message_size: 1009');

  const ws3 = await open();
  const c3 = closed(ws3);
  ws3.send(Buffer.from([0x61, 0xff, 0x62]), { binary: false });
  check((await c3) === 1007, 'invalid UTF-8 text: 1007');

  const ws4 = await open(); // a clean close by the server after the client's close
  const c4 = closed(ws4);
  ws4.close();
  check((await c4) === 1005 || (await c4) === 1000, 'empty close answered');
}

const timer = setTimeout(() => { console.log('FAIL timed out'); process.exit(1); }, 60000);
main().then(() => { clearTimeout(timer); process.exit(failed ? 1 : 0); },
            (e) => { console.log(`FAIL ${e && e.message}`); process.exit(1); });
