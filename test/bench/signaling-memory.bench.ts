/**
 * Memory per idle signaling connection: 1,000 clients connect and join rooms of 8, then
 * idle. Server RSS and heap growth per connection after GC, against a bare ws server
 * holding the same 1,000 sockets in the same run. Target: ≤ 50 KB per idle connection.
 */
import WebSocket from 'ws';
import { BenchServer, fmt } from './support/child.js';

const CLIENTS = 1000;

async function run(kind: 'callpeer' | 'bare') {
  const server = await BenchServer.start(kind);
  await new Promise((r) => setTimeout(r, 300));
  const before = await server.stats();
  const sockets: WebSocket[] = [];
  for (let i = 0; i < CLIENTS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(server.url);
      sockets.push(ws);
      ws.once('error', reject);
      ws.once('open', () => {
        ws.on('message', function onMsg(d) { if (d.toString().includes('"joined"')) { ws.off('message', onMsg); resolve(); } });
        ws.send(JSON.stringify({ type: 'join', room: `idle-${Math.floor((i + j) / 8)}`, name: `client ${i + j}` }));
      });
    })));
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = await server.stats();
  for (const ws of sockets) ws.terminate();
  server.stop();
  return { rss: (after.mem.rss - before.mem.rss) / CLIENTS, heap: (after.mem.heapUsed - before.mem.heapUsed) / CLIENTS };
}

const bare = await run('bare');
const ours = await run('callpeer');
console.log(`memory per idle connection, ${CLIENTS} joined clients`);
console.log(`  bare ws  : ${fmt(bare.rss / 1024)} KB RSS, ${fmt(bare.heap / 1024)} KB heap`);
console.log(`  callpeer : ${fmt(ours.rss / 1024)} KB RSS, ${fmt(ours.heap / 1024)} KB heap`);
console.log(`  ratio callpeer/bare RSS: ${fmt(ours.rss / bare.rss, 2)}x; target ≤ 50 KB: ${ours.rss <= 50 * 1024 ? 'met' : 'MISSED'}`);
