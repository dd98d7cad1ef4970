import { describe, expect, it } from 'vitest';
import { Broker, ipcTransport, type IpcEndpoint, type IpcMessage } from '../../../src/cluster/ipc.js';
import { MemoryDirectory } from '../../../src/cluster/memory-directory.js';
import { silentLogger } from '../../../src/log.js';
import { ManualClock } from '../../helpers/clock.js';

describe('MemoryDirectory', () => {
  it('a room is claimed once, lives while its node beats, and is taken over when its node is gone', async () => {
    const clock = new ManualClock();
    const d = new MemoryDirectory(clock, 3000);
    await d.beat({ id: 'a', load: 5 }, []);
    await d.beat({ id: 'b', load: 1 }, []);
    expect(await d.claim('r', 'b')).toBe('b');
    expect(await d.claim('r', 'a')).toBe('b'); // taken
    expect(await d.ownerOf('r')).toBe('b');
    expect((await d.nodes()).map((n) => n.id).sort()).toEqual(['a', 'b']);
    clock.advance(2000);
    await d.beat({ id: 'a', load: 5 }, []);
    await d.beat({ id: 'b', load: 1 }, ['r']);
    clock.advance(2000);
    expect(await d.ownerOf('r')).toBe('b'); // refreshed by b's beat
    await d.beat({ id: 'a', load: 5 }, []);
    clock.advance(1500); // b missed its beats for 3.5 s
    expect(await d.alive('b')).toBe(false);
    expect(await d.ownerOf('r')).toBeUndefined();
    expect(await d.claim('r', 'a')).toBe('a');
    await d.release('r', 'b'); // not b's any more: stays
    expect(await d.ownerOf('r')).toBe('a');
    await d.release('r', 'a');
    expect(await d.ownerOf('r')).toBeUndefined();
    await d.leave('a');
    expect(await d.nodes()).toEqual([]);
  });
});

describe('MemoryDirectory: PCM codes and the waiting queue', () => {
  it('a held key lives while its node holds it; the queue takes the oldest entry or lists the newcomer', async () => {
    const clock = new ManualClock();
    const d = new MemoryDirectory(clock, 3000);
    await d.beat({ id: 'a', load: 0 }, []);
    expect(await d.claim('pcm:x', 'a')).toBe('a');
    clock.advance(2000);
    await d.beat({ id: 'a', load: 0 }, []);
    await d.hold('a', ['pcm:x']);
    clock.advance(2000);
    expect(await d.ownerOf('pcm:x')).toBe('a'); // held past its first TTL
    clock.advance(1500);
    expect(await d.ownerOf('pcm:x')).toBeUndefined();

    expect(await d.takeOrWait('q', 'a/1')).toBeUndefined();
    expect(await d.takeOrWait('q', 'b/2')).toBe('a/1'); // b/2 is not listed: it got a partner
    expect(await d.takeOrWait('q', 'b/3')).toBeUndefined();
    expect(await d.takeOrWait('q', 'a/4')).toBe('b/3');
    expect(await d.takeOrWait('q', 'a/5')).toBeUndefined();
    expect(await d.takeOrWait('q', 'a/6')).toBe('a/5');
    await d.takeOrWait('q', 'a/7');
    await d.takeOrWait('other', 'a/8'); // queues are apart
    await d.unlist('q', 'a/7');
    expect(await d.takeOrWait('q', 'b/9')).toBeUndefined();
    expect(await d.takeOrWait('other', 'b/10')).toBe('a/8');
  });
});

/** Two ends of an IPC channel in one process (what node:cluster gives a worker and the primary). */
function channel(): [IpcEndpoint, IpcEndpoint] {
  const listeners: [((m: unknown) => void)[], ((m: unknown) => void)[]] = [[], []];
  const end = (mine: 0 | 1): IpcEndpoint => ({
    send: (m: IpcMessage) => { const copy = JSON.parse(JSON.stringify(m)) as unknown; queueMicrotask(() => { for (const l of listeners[1 - mine]!) l(copy); }); },
    on: (_e: 'message', l: (m: unknown) => void) => { listeners[mine].push(l); },
  });
  return [end(0), end(1)];
}

describe('Broker and ipcTransport', () => {
  it('workers share the primary\'s directory and reach each other through it; a detached worker leaves at once', async () => {
    const broker = new Broker(new ManualClock(), silentLogger());
    const [w1, p1] = channel();
    const [w2, p2] = channel();
    broker.attach('n1', p1);
    broker.attach('n2', p2);
    const t1 = ipcTransport(w1, silentLogger());
    const t2 = ipcTransport(w2, silentLogger());
    await t1.directory.beat({ id: 'n1', load: 0 }, []);
    await t2.directory.beat({ id: 'n2', load: 0 }, []);
    expect(await t2.directory.claim('room', 'n1')).toBe('n1');
    expect(await t1.directory.ownerOf('room')).toBe('n1');
    expect(await t1.directory.ownerOf('none')).toBeUndefined();
    const got: unknown[] = [];
    t1.bus.onMessage((m) => got.push(m));
    t2.bus.send('n1', { t: 'detached', session: 's', reason: 'left' });
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([{ t: 'detached', session: 's', reason: 'left' }]);
    // Binary frames cross byte for byte; the queue is the primary's.
    const frames: Buffer[] = [];
    t1.bus.onFrame((f) => frames.push(f));
    t2.bus.sendFrame('n1', Buffer.from([0, 1, 0xfe, 0xff, 0x7b]));
    await new Promise((r) => setTimeout(r, 10));
    expect(frames.map((f) => f.toString('hex'))).toEqual(['0001feff7b']);
    expect(await t1.directory.takeOrWait('q', 'n1/a')).toBeUndefined();
    expect(await t2.directory.takeOrWait('q', 'n2/b')).toBe('n1/a');
    await t2.directory.hold('n2', ['pcm:x']);
    expect(await t1.directory.ownerOf('pcm:x')).toBe('n2');
    broker.detach('n1');
    expect(await t2.directory.alive('n1')).toBe(false);
    expect(await t2.directory.ownerOf('room')).toBeUndefined();
  });
});
