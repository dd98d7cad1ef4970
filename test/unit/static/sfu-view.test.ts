/**
 * What the call page asks an SFU to send it (static/js/sfu-view.js), run in Node with a stand-in
 * IntersectionObserver: tiles off screen or a hidden tab unsubscribe their video, never before
 * the server has the page's connection.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type Entry = { target: { dataset: { peer: string } }; isIntersecting: boolean };
let observed: ((entries: Entry[]) => void) | undefined;
class FakeObserver {
  constructor(cb: (entries: Entry[]) => void) { observed = cb; }
  observe(): void {}
  unobserve(): void {}
}

const tile = (id: string) => ({ id, root: { clientWidth: 300, dataset: { peer: id }, classList: { contains: () => false } }, videos: {}, setLayer: () => {} });
const camera = (publisher: string) => ({ id: `${publisher}-camera`, publisher, kind: 'video', source: 'camera', codec: 'VP8', layers: ['low', 'medium', 'high'], muted: false });
const mic = (publisher: string) => ({ id: `${publisher}-microphone`, publisher, kind: 'audio', source: 'microphone', codec: 'opus', layers: [], muted: false });

describe('SfuView', () => {
  let sent: Record<string, unknown>[];
  let connected: boolean;
  let hidden: boolean;
  let view: any;

  beforeEach(async () => {
    (globalThis as Record<string, unknown>).IntersectionObserver = FakeObserver;
    // @ts-expect-error plain JS module of the pages (no types)
    const { SfuView } = await import('../../../static/js/sfu-view.js');
    sent = [];
    connected = false;
    hidden = false;
    const s = { selfId: 'me', tiles: new Map([['a', tile('a')], ['b', tile('b')]]) };
    view = new SfuView({ s, send: (m: Record<string, unknown>) => sent.push(m), connected: () => connected, hidden: () => hidden });
  });

  afterEach(() => {
    delete (globalThis as Record<string, unknown>).IntersectionObserver;
  });

  const visible = (peer: string, isIntersecting: boolean) => observed!([{ target: { dataset: { peer } }, isIntersecting }]);
  const subs = () => sent.filter((m) => m.type === 'subscribe' || m.type === 'unsubscribe').map((m) => `${m.type} ${m.track}`);

  it('a tile scrolled away unsubscribes its camera, never its microphone, and subscribes again when back', () => {
    connected = true;
    view.onTracks([camera('a'), mic('a'), camera('b'), mic('b'), camera('me')]);
    expect(subs()).toEqual([]);
    // A 300 px tile asks for `low` while shown.
    expect(sent.filter((m) => m.type === 'layer').map((m) => `${m.track} ${m.quality}`)).toEqual(['a-camera low', 'b-camera low']);
    visible('b', false);
    expect(subs()).toEqual(['unsubscribe b-camera']);
    visible('b', false);
    expect(subs()).toEqual(['unsubscribe b-camera']);
    visible('b', true);
    expect(subs()).toEqual(['unsubscribe b-camera', 'subscribe b-camera']);
    expect(view.snapshot().subscribed).toEqual({ 'b-camera': true });
  });

  it('a hidden tab unsubscribes every camera and takes back only those on screen', () => {
    connected = true;
    view.onTracks([camera('a'), camera('b')]);
    visible('b', false);
    sent.length = 0;
    hidden = true;
    view.refresh();
    expect(subs()).toEqual(['unsubscribe a-camera']);
    hidden = false;
    view.refresh();
    expect(subs()).toEqual(['unsubscribe a-camera', 'subscribe a-camera']);
  });

  it('waits for the first offer: nothing is unsubscribed before, what is off screen then is unsubscribed at once', () => {
    view.onTracks([camera('a'), camera('b')]);
    visible('a', false);
    hidden = true;
    view.refresh();
    // The server refuses `unsubscribe` before it has our connection, and subscribes us to everything on it.
    expect(subs()).toEqual([]);
    connected = true;
    view.refresh();
    expect(subs()).toEqual(['unsubscribe a-camera', 'unsubscribe b-camera']);
  });

  it('forgets a tile that goes, and tracks that end', () => {
    connected = true;
    view.onTracks([camera('a'), camera('b')]);
    visible('a', false);
    view.forget(tile('a'));
    view.onTracks([camera('b')]);
    expect(view.snapshot().subscribed).toEqual({});
    expect(view.visible.size).toBe(0);
  });
});
