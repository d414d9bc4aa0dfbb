// ws_node_server — the Node.js WebSocket reference of bench/run.py: npm's
// `ws` (the ecosystem's default server) as its README writes it, no tuning.
//
//   node ws_node_server.cjs [--mode echo|relay] [--host H] [--port P]
//
// echo:  every message goes back to its sender with its type
//        (ws.send(data, { binary: isBinary })).
// relay: every message goes to every other open client (the README's
//        "broadcast to all other clients" example), the WebSocket twin of
//        bench/uv_relay_server.c.
// --threads and --backend are accepted and ignored (the samples' CLI);
// prints "listening on HOST:PORT" once ready and exits 0 on SIGTERM.
// `ws` is looked up in $WS_DIR/node_modules (bench/run.py installs it where
// tests/ws_interop/run.py does: build/linux/ws-node).
'use strict';
const path = require('path');

const args = { mode: 'echo', host: '0.0.0.0', port: '9034' };
for (let i = 2; i < process.argv.length; i += 2) {
  const a = process.argv[i], v = process.argv[i + 1];
  if (v === undefined) { console.error(`missing value for ${a}`); process.exit(2); }
  if (a === '--mode') args.mode = v;
  else if (a === '--host') args.host = v;
  else if (a === '--port') args.port = v;
  else if (a !== '--threads' && a !== '--backend') { console.error(`unknown option ${a}`); process.exit(2); }
}
if (args.mode !== 'echo' && args.mode !== 'relay') { console.error('--mode echo|relay'); process.exit(2); }

const WebSocket = require(path.join(process.env.WS_DIR || '.', 'node_modules', 'ws'));
const wss = new WebSocket.WebSocketServer({ host: args.host, port: Number(args.port) });
wss.on('listening', () => console.log(`listening on ${args.host}:${wss.address().port}`));
wss.on('connection', (ws) => {
  if (args.mode === 'echo') {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  } else {
    ws.on('message', (data, isBinary) => {
      wss.clients.forEach((client) => {
        if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
      });
    });
  }
});
process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
});
