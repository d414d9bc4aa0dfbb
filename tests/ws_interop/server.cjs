// npm's `ws` as a server for iocpnet's WebSocket client (ws_peer client):
// prints "PORT n", checks the request path, sends a fragmented text and a
// ping as soon as a client connects, echoes every message with its type,
// and on the client's close prints the close code and whether the ping was
// answered, then exits. Usage: node server.cjs (WS_DIR: where `ws` is).
'use strict';
const path = require('path');
const WebSocket = require(path.join(process.env.WS_DIR, 'node_modules', 'ws'));
const wss = new WebSocket.WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20 });
wss.on('listening', () => console.log(`PORT ${wss.address().port}`));
wss.on('connection', (ws, req) => {
  console.log(`PATH ${req.url}`);
  let pong = '';
  ws.on('pong', (d) => { pong = d.toString(); });
  ws.send('frag', { fin: false });
  ws.send('mented', { fin: true });
  ws.ping('hb');
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code) => {
    console.log(`CLOSE ${code} PONG ${pong}`);
    wss.close(() => process.exit(0));
  });
});
setTimeout(() => { console.log('TIMEOUT'); process.exit(1); }, 60000);
