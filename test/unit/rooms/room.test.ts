import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { ServerMessage } from '../../../src/protocol/signaling.js';
import type { MemberMedia, RoomMedia, SignalMessage } from '../../../src/rooms/media.js';
import type { LeaveReason, Member, MemberSink } from '../../../src/rooms/member.js';
import { MeshRelay } from '../../../src/rooms/mesh-relay.js';
import { RoomRegistry } from '../../../src/rooms/registry.js';

/** A member's transport that records what the room sends it and when it is detached. */
class FakeSink implements MemberSink {
  readonly sent: ServerMessage[] = [];
  readonly detachedFor: LeaveReason[] = [];
  send(message: ServerMessage): void { this.sent.push(message); }
  detached(reason: LeaveReason): void { this.detachedFor.push(reason); }
  types(): string[] { return this.sent.map((m) => m.type); }
}

/** A media side that records the calls the room makes. */
function recordingMedia(log: string[]): RoomMedia {
  return {
    join(member: Member): MemberMedia {
      log.push(`join ${member.id}`);
      return {
        signal: (m: SignalMessage) => { log.push(`signal ${member.id} ${m.type}`); },
        setSubscribed: () => {},
        setLayer: () => {},
        reportStats: () => {},
        updated: () => {},
        setMuted: (kinds) => { log.push(`mute ${member.id} ${JSON.stringify(kinds)}`); },
        close: () => { log.push(`close ${member.id}`); },
      };
    },
    measureQuality: () => [],
    close: () => { log.push('close room media'); },
  };
}

function registry(media: (log: string[]) => RoomMedia = recordingMedia, maxMembers = 3) {
  const calls: string[] = [];
  const changes: [number, number][] = [];
  const rooms = new RoomRegistry({
    log: silentLogger(), maxMembers, iceServers: () => [{ urls: 'stun:example.test' }],
    media: () => media(calls),
    onChange: (r, p) => changes.push([r, p]),
  });
  return { rooms, calls, changes };
}

describe('Room', () => {
  it('admits a member: joined to it (with those already there), peer-joined to the others, media joined', async () => {
    const { rooms, calls } = registry();
    const a = new FakeSink();
    const b = new FakeSink();
    await rooms.join('r1', a, { id: 'A', name: ' Ann ' });
    const mb = await rooms.join('r1', b, { id: 'B', role: 'bot', audio: true });
    expect(a.sent).toEqual([
      { type: 'joined', id: 'A', room: { id: 'r1', topology: 'mesh', maxMembers: 3 }, participants: [], iceServers: [{ urls: 'stun:example.test' }] },
      { type: 'peer-joined', participant: mb.participant },
    ]);
    expect(b.sent[0]).toMatchObject({ type: 'joined', id: 'B', participants: [{ id: 'A', name: 'Ann', role: 'participant', audio: false, video: false, screen: false, metadata: {}, guest: false }] });
    expect(mb.participant).toEqual({ id: 'B', name: 'Guest B', role: 'bot', audio: true, video: false, screen: false, metadata: {}, guest: false });
    expect(calls).toEqual(['join A', 'join B']);
  });

  it('refuses a member past capacity with ROOM_FULL and tells nobody', async () => {
    const { rooms } = registry(recordingMedia, 1);
    const a = new FakeSink();
    await rooms.join('r', a, { id: 'A' });
    await expect(rooms.join('r', new FakeSink(), { id: 'B' })).rejects.toMatchObject({ code: 'ROOM_FULL' });
    expect(a.types()).toEqual(['joined']);
  });

  it('a member that closes leaves: its media closed, peer-left to the others, its sink detached once', async () => {
    const { rooms, calls } = registry();
    const a = new FakeSink();
    const b = new FakeSink();
    const ma = await rooms.join('r', a, { id: 'A' });
    await rooms.join('r', b, { id: 'B' });
    ma.close('left');
    ma.close('disconnected'); // idempotent
    expect(b.sent.at(-1)).toEqual({ type: 'peer-left', id: 'A' });
    expect(a.detachedFor).toEqual(['left']);
    expect(calls).toEqual(['join A', 'join B', 'close A']);
    expect(rooms.get('r')?.participants().map((p) => p.id)).toEqual(['B']);
  });

  it('the last member leaving closes the room and its media; the next join opens a new room', async () => {
    const { rooms, calls, changes } = registry();
    const first = rooms.get('r');
    expect(first).toBeUndefined();
    const m = await rooms.join('r', new FakeSink(), { id: 'A' });
    const room = rooms.get('r')!;
    m.close('disconnected');
    expect(room.isClosed).toBe(true);
    expect(rooms.get('r')).toBeUndefined();
    expect(calls).toEqual(['join A', 'close A', 'close room media']);
    expect(changes.at(-1)).toEqual([0, 0]);
    await rooms.join('r', new FakeSink(), { id: 'B' });
    expect(rooms.get('r')).not.toBe(room);
  });

  it('close() cascades: every member detached with room-closed, each media then the room media closed, once', async () => {
    const { rooms, calls, changes } = registry();
    const sinks = [new FakeSink(), new FakeSink()];
    await rooms.join('r', sinks[0]!, { id: 'A' });
    await rooms.join('r', sinks[1]!, { id: 'B' });
    const room = rooms.get('r')!;
    rooms.close('shutdown');
    room.close('shutdown');
    expect(sinks.map((s) => s.detachedFor)).toEqual([['room-closed'], ['room-closed']]);
    expect(calls).toEqual(['join A', 'join B', 'close A', 'close B', 'close room media']);
    // nobody is told about the others leaving when everyone goes
    expect(sinks[0]!.types()).toEqual(['joined', 'peer-joined']);
    expect(rooms.size).toBe(0);
    expect(changes.at(-1)).toEqual([0, 0]);
    await expect(Promise.resolve().then(() => room.join(new FakeSink(), { id: 'C' }))).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
  });

  it('a media side that refuses a member leaves no trace: no member, no empty room', async () => {
    const refusing = (): RoomMedia => ({ join: () => { throw new Error('no media for you'); }, measureQuality: () => [], close: () => {} });
    const { rooms, changes } = registry(refusing);
    await expect(rooms.join('r', new FakeSink(), { id: 'A' })).rejects.toThrow('no media for you');
    expect(rooms.size).toBe(0);
    expect(changes.at(-1)).toEqual([0, 0]);
  });

  it('update() changes a member and tells the others with peer-updated', async () => {
    const { rooms } = registry();
    const a = new FakeSink();
    const b = new FakeSink();
    const ma = await rooms.join('r', a, { id: 'A' });
    await rooms.join('r', b, { id: 'B' });
    ma.room.update(ma, { video: true });
    expect(b.sent.at(-1)).toEqual({ type: 'peer-updated', participant: expect.objectContaining({ id: 'A', video: true }) });
    expect(a.types()).toEqual(['joined', 'peer-joined']);
  });
});

describe('MeshRelay', () => {
  const SDP = 'v=0\r\n';
  async function mesh() {
    const rooms = new RoomRegistry({ log: silentLogger(), maxMembers: 4, media: (room) => new MeshRelay(room) });
    const a = new FakeSink();
    const b = new FakeSink();
    const ma = await rooms.join('m', a, { id: 'A' });
    const mb = await rooms.join('m', b, { id: 'B' });
    return { a, b, ma, mb };
  }

  it('relays offer, answer and candidate to the member named in `to`, from the sender', async () => {
    const { a, b, ma, mb } = await mesh();
    ma.media.signal({ type: 'offer', to: 'B', sdp: SDP });
    mb.media.signal({ type: 'answer', to: 'A', sdp: SDP });
    ma.media.signal({ type: 'candidate', to: 'B', candidate: 'candidate:1', mid: '0' });
    expect(b.sent.slice(-2)).toEqual([{ type: 'offer', from: 'A', sdp: SDP }, { type: 'candidate', from: 'A', candidate: 'candidate:1', mid: '0' }]);
    expect(a.sent.at(-1)).toEqual({ type: 'answer', from: 'B', sdp: SDP });
  });

  it.each([
    ['no `to`', { type: 'offer', sdp: SDP }, 'SFU_NOT_ENABLED'],
    ['`to` yourself', { type: 'offer', to: 'A', sdp: SDP }, 'INVALID_MESSAGE'],
    ['`to` nobody', { type: 'candidate', to: 'Z', candidate: '', mid: '0' }, 'PEER_NOT_FOUND'],
  ] as const)('%s is refused with %s', async (_name, message, code) => {
    const { ma } = await mesh();
    expect(() => ma.media.signal(message as SignalMessage)).toThrow(expect.objectContaining({ code }));
  });

  it('subscribe, unsubscribe and layer need an SFU room', async () => {
    const { ma } = await mesh();
    expect(() => ma.media.setSubscribed('B', 'audio', true)).toThrow(expect.objectContaining({ code: 'SFU_NOT_ENABLED', ref: 'subscribe' }));
    expect(() => ma.media.setSubscribed('B', 'audio', false)).toThrow(expect.objectContaining({ code: 'SFU_NOT_ENABLED', ref: 'unsubscribe' }));
    expect(() => ma.media.setLayer('t', 'low')).toThrow(expect.objectContaining({ code: 'SFU_NOT_ENABLED', ref: 'layer' }));
  });
});
