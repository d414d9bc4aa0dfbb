// The chat in a real browser: headless Chromium (Debian's `chromium`) driven
// by playwright-core opens chat_server's page twice; the two pages and one
// TCP client exchange lines, nick changes and /who, and the test asserts
// what each page shows. Then the server is restarted on the same ports and
// the page must reconnect and take its nick back. A screenshot goes to the
// path given (the README shows it).
// Usage: node chat_browser.cjs CHAT_SERVER NODE_DIR SCREENSHOT
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const [chatServer, nodeDir, shot] = process.argv.slice(2);
let passed = 0, failed = 0;
const check = (ok, what) => { console.log(`${ok ? 'OK' : 'FAIL'} ${what}`); ok ? passed++ : failed++; };

function ensure(pkg, version) {
  if (fs.existsSync(path.join(nodeDir, 'node_modules', pkg))) return;
  fs.mkdirSync(nodeDir, { recursive: true });
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', nodeDir, `${pkg}@${version}`], { stdio: ['ignore', 2, 2] });
}

// Starts chat_server; resolves with its TCP and web ports once both are printed.
function startServer(tcpPort, webPort) {
  return new Promise((resolve, reject) => {
    const p = spawn(chatServer, ['--host', '127.0.0.1', '--port', String(tcpPort), '--web-port', String(webPort)],
                    { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const t = /listening on 127\.0\.0\.1:(\d+)/.exec(out), w = /web chat on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (t && w) resolve({ proc: p, tcp: +t[1], web: +w[1] });
    });
    p.on('exit', (code) => reject(new Error(`chat_server exited with ${code}: ${out}`)));
  });
}
function stopServer(s) {
  return new Promise((resolve) => {
    s.proc.removeAllListeners('exit');
    s.proc.on('exit', resolve);
    process.kill(s.proc.pid, 'SIGTERM');
  });
}

// A line-protocol TCP client that remembers every line.
function tcpClient(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const c = { sock, lines: [], buf: '' };
    sock.on('data', (d) => {
      c.buf += d;
      let i;
      while ((i = c.buf.indexOf('\n')) >= 0) { c.lines.push(c.buf.slice(0, i)); c.buf = c.buf.slice(i + 1); }
    });
    sock.once('connect', () => resolve(c));
    sock.once('error', reject);
  });
}
async function until(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await fn()) return true; } catch (e) { /* page navigating */ }
    if (Date.now() > end) { check(false, `${what} (timed out)`); return false; }
    await new Promise((r) => setTimeout(r, 50));
  }
}
const logOf = (page) => page.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
const onlineOf = (page) => page.$$eval('#online li', (lis) => lis.map((li) => li.textContent));
async function say(page, text) {
  await page.fill('#msg', text);
  await page.press('#msg', 'Enter');
}

async function main() {
  ensure('playwright-core', '1');
  const { chromium } = require(path.join(nodeDir, 'node_modules', 'playwright-core'));
  let srv = await startServer(0, 0);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
                                          args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const ctx = await browser.newContext({ viewport: { width: 900, height: 560 } });
    const a = await ctx.newPage(), b = await ctx.newPage();
    const url = `http://127.0.0.1:${srv.web}/`;
    await a.goto(url);
    await b.goto(url);
    check(await until(async () => (await logOf(a)).some((l) => l.startsWith('* welcome guest-')), 'page A welcomed'), 'page A welcomed');
    check(await until(async () => (await logOf(b)).some((l) => l.startsWith('* welcome guest-')), 'page B welcomed'), 'page B welcomed');
    check(await a.textContent('#status') === 'connected', 'page A shows connected');

    await a.fill('#nick', 'alice');
    await a.click('#nickform button');
    await b.fill('#nick', 'bob');
    await b.press('#nick', 'Enter');
    check(await until(async () => (await logOf(a)).includes('* you are now alice'), 'A'), 'page A renamed to alice');
    check(await until(async () => (await logOf(b)).includes('* you are now bob'), 'B'), 'page B renamed to bob');

    const t = await tcpClient(srv.tcp);
    t.sock.write('/nick carol\n');
    check(await until(() => t.lines.includes('* you are now carol'), 'tcp'), 'TCP client renamed to carol');
    check(await until(async () => (await logOf(a)).some((l) => / is now carol$/.test(l)), 'A sees carol'), 'page A sees the TCP client become carol');

    await say(a, 'hello from alice ✓');
    check(await until(async () => (await logOf(b)).includes('alice: hello from alice ✓'), 'B'), 'page B shows alice\'s line');
    check(await until(() => t.lines.includes('alice: hello from alice ✓'), 'tcp'), 'TCP client gets alice\'s line');
    check((await logOf(a)).includes('alice: hello from alice ✓'), 'page A shows its own line');
    t.sock.write('hi from the terminal\n');
    check(await until(async () => (await logOf(a)).includes('carol: hi from the terminal'), 'A'), 'page A shows carol\'s line');
    check(await until(async () => (await logOf(b)).includes('carol: hi from the terminal'), 'B'), 'page B shows carol\'s line');
    await say(b, 'hi alice, bob here');
    check(await until(async () => (await logOf(a)).includes('bob: hi alice, bob here'), 'A'), 'page A shows bob\'s line');

    const all = JSON.stringify(['alice', 'bob', 'carol']);
    check(await until(async () => JSON.stringify(await onlineOf(a)) === all, 'A online'), 'page A\'s online list: alice, bob, carol');
    check(await until(async () => JSON.stringify(await onlineOf(b)) === all, 'B online'), 'page B\'s online list: alice, bob, carol');
    t.sock.write('/who\n');
    check(await until(() => t.lines.includes('* online: alice, bob, carol'), 'tcp who'), 'TCP /who lists both pages');
    check(await a.$eval('#online li.self', (li) => li.textContent) === 'alice', 'page A marks itself in the list');

    // The server restarts on the same ports: the pages reconnect and take their nicks back.
    t.sock.destroy();
    const ports = { tcp: srv.tcp, web: srv.web };
    await stopServer(srv);
    check(await until(async () => (await a.textContent('#status')) !== 'connected', 'A disconnected'), 'page A notices the server is gone');
    srv = await startServer(ports.tcp, ports.web);
    check(await until(async () => (await a.textContent('#status')) === 'connected', 'A reconnected', 20000), 'page A reconnects');
    check(await until(async () => (await logOf(a)).filter((l) => l === '* you are now alice').length === 2, 'A nick back', 20000), 'page A takes its nick back');
    check(await until(async () => JSON.stringify(await onlineOf(a)) === JSON.stringify(['alice', 'bob']), 'A online after restart', 20000), 'online list after the restart: alice, bob');
    await say(a, 'back again');
    check(await until(async () => (await logOf(b)).includes('alice: back again'), 'B after restart'), 'page B gets a line after the restart');
    await a.screenshot({ path: shot });
    check(fs.statSync(shot).size > 10000, `screenshot saved to ${shot}`);
  } finally {
    await browser.close();
    await stopServer(srv);
  }
}

const timer = setTimeout(() => { console.log('FAIL timed out'); console.log(`browser: ${passed} passed, ${failed + 1} failed`); process.exit(1); }, 180000);
main().then(() => {
  clearTimeout(timer);
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed || !passed ? 1 : 0);
}, (e) => {
  console.log(`FAIL ${e && e.stack}`);
  console.log(`browser: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
