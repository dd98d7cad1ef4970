/**
 * Relay throughput of /ws signaling: 50 sender/receiver pairs in one room each blast
 * `candidate` messages through the server. Reports relayed messages per second of server
 * CPU (the "one core" figure) and the ratio to a bare ws relay in the same run.
 * Target: ≥ 20,000 relayed messages/s on one core.
 */
import WebSocket from 'ws';
import { BenchServer, fmt } from './support/child.js';

const PAIRS = 50;
const PER_SENDER = 2000;
const CANDIDATE = 'candidate:842163049 1 udp 1677729535 127.0.0.1 50956 typ srflx raddr 0.0.0.0 rport 0 generation 0';

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function joined(ws: WebSocket, room: string): Promise<string> {
  return new Promise((resolve) => {
    ws.on('message', function onMsg(d) {
      const m = JSON.parse(d.toString());
      if (m.type === 'joined') { ws.off('message', onMsg); resolve(m.id); }
    });
    ws.send(JSON.stringify({ type: 'join', room }));
  });
}

async function run(kind: 'callpeer' | 'bare') {
  const server = await BenchServer.start(kind);
  const pairs: { tx: WebSocket; rx: WebSocket; rxId: string }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const rx = await open(server.url);
    const rxId = await joined(rx, `bench-${i}`);
    const tx = await open(server.url);
    await joined(tx, `bench-${i}`);
    pairs.push({ tx, rx, rxId });
  }
  let received = 0;
  const total = PAIRS * PER_SENDER;
  const done = new Promise<void>((resolve) => {
    for (const p of pairs) p.rx.on('message', (d) => { if (d.toString().includes('"candidate"') && ++received === total) resolve(); });
  });
  const before = await server.stats();
  const t0 = performance.now();
  // Send in chunks so client-side buffers stay modest.
  for (let k = 0; k < PER_SENDER; k += 100) {
    for (const p of pairs) {
      for (let j = 0; j < 100; j++) p.tx.send(JSON.stringify({ type: 'candidate', to: p.rxId, candidate: CANDIDATE, mid: '0' }));
    }
    await new Promise((r) => setImmediate(r));
  }
  await done;
  const wall = (performance.now() - t0) / 1000;
  const after = await server.stats();
  const cpu = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6;
  for (const p of pairs) { p.tx.terminate(); p.rx.terminate(); }
  server.stop();
  return { perCpuSecond: total / cpu, perWallSecond: total / wall, usPerMessage: (cpu * 1e6) / total };
}

const bare = await run('bare');
const ours = await run('callpeer');
console.log(`signaling relay, ${PAIRS} pairs x ${PER_SENDER} candidates`);
console.log(`  bare ws relay : ${fmt(bare.perCpuSecond, 0)} msg/s per CPU-second (${fmt(bare.usPerMessage)} µs/msg), ${fmt(bare.perWallSecond, 0)} msg/s wall`);
console.log(`  callpeer      : ${fmt(ours.perCpuSecond, 0)} msg/s per CPU-second (${fmt(ours.usPerMessage)} µs/msg), ${fmt(ours.perWallSecond, 0)} msg/s wall`);
console.log(`  ratio callpeer/bare CPU per message: ${fmt(ours.usPerMessage / bare.usPerMessage, 2)}x; target ≥ 20,000 msg/s: ${ours.perCpuSecond >= 20_000 ? 'met' : 'MISSED'}`);
