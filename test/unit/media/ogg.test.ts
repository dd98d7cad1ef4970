import { describe, expect, it } from 'vitest';
import { NO_GRANULE, OGG_BOS, OGG_CONTINUED, OGG_EOS, OggReader, OggStreamWriter, oggCrc, scanOggPages, writeOggPage, type OggPacket } from '../../../src/media/ogg.js';
import type { CallpeerError } from '../../../src/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

/** Deterministic packet bytes of a given length. */
function packet(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

function readAll(bytes: Uint8Array, chunkSize = bytes.length): { packets: OggPacket[]; errors: CallpeerError[] } {
  const errors: CallpeerError[] = [];
  const reader = new OggReader({ onError: (e) => errors.push(e) });
  const packets: OggPacket[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) packets.push(...reader.push(bytes.subarray(i, i + chunkSize)));
  packets.push(...reader.end());
  return { packets, errors };
}

const PAGE = hex(`
  4f676753          # "OggS"
  00                # version 0
  02                # header type: BOS
  0504030201000000  # granule 0x0102030405 (int64 LE)
  44332211          # serial 0x11223344
  07000000          # page sequence 7
  a6b05eeb          # CRC 0xeb5eb0a6
  02                # 2 segments
  03 00             # lacing: a 3-byte packet, then an empty packet
  616263            # "abc"
`);

describe('Ogg pages', () => {
  it('writes a page byte-exactly and reads it back', () => {
    const page = writeOggPage({ flags: OGG_BOS, granule: 0x0102030405n, serial: 0x11223344, sequence: 7, lacing: [3, 0], body: [Buffer.from('abc')] });
    expect(page.toString('hex')).toBe(PAGE.toString('hex'));
    const { packets, errors } = readAll(page);
    expect(errors).toEqual([]);
    expect(packets.map((p) => [Buffer.from(p.data).toString(), p.granule, p.bos, p.serial])).toEqual([
      ['abc', NO_GRANULE, true, 0x11223344],
      ['', 0x0102030405n, false, 0x11223344], // the page granule goes to the last packet finishing on it
    ]);
  });

  it('computes the CRC with the CRC field zeroed', () => {
    const zeroed = Buffer.from(PAGE);
    zeroed.fill(0, 22, 26);
    expect(oggCrc(zeroed)).toBe(0xeb5eb0a6);
  });

  it('laces packets at 255-byte boundaries (255 -> 255,0; 600 -> 255,255,90)', () => {
    const w = new OggStreamWriter(1);
    w.write(packet(255, 1), 10n);
    w.write(packet(600, 2), 20n);
    const [page] = w.flush(true);
    expect(page![26]).toBe(5);
    expect(Array.from(page!.subarray(27, 32))).toEqual([255, 0, 255, 255, 90]);
    expect(page![5]).toBe(OGG_BOS | OGG_EOS);
    expect(page!.readBigInt64LE(6)).toBe(20n);
  });

  it('continues a packet of more than 255 segments on the next page', () => {
    const w = new OggStreamWriter(9);
    const big = packet(255 * 300 + 7, 3); // 301 segments
    const full = w.write(big, 100n);
    expect(full).toHaveLength(1); // 255 segments fill a page at once
    expect(full[0]!.readBigInt64LE(6)).toBe(NO_GRANULE); // no packet finishes on it
    const rest = w.flush(true);
    expect(rest).toHaveLength(1);
    expect(rest[0]![5]).toBe(OGG_CONTINUED | OGG_EOS);
    expect(rest[0]![26]).toBe(46);
    const { packets, errors } = readAll(Buffer.concat([...full, ...rest]));
    expect(errors).toEqual([]);
    expect(packets).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(packets[0]!.data), big)).toBe(0);
    expect(packets[0]).toMatchObject({ granule: 100n, eos: true, pageSequence: 1 });
  });

  it('reads the same packets when the input arrives split across chunks', () => {
    const w = new OggStreamWriter(5);
    const sent = [packet(10, 1), packet(700, 2), packet(0, 3), packet(255, 4), packet(65000, 5), packet(3, 6)];
    const pages: Buffer[] = [];
    sent.forEach((p, i) => { pages.push(...w.write(p, BigInt(i))); if (i % 2 === 1) pages.push(...w.flush()); });
    pages.push(...w.flush(true));
    const bytes = Buffer.concat(pages);
    for (const chunk of [1, 7, 4096, bytes.length]) {
      const { packets, errors } = readAll(bytes, chunk);
      expect(errors).toEqual([]);
      expect(packets.map((p) => Buffer.from(p.data).toString('hex'))).toEqual(sent.map((p) => p.toString('hex')));
    }
  });

  it('reports a page with a bad CRC as PARSE_ERROR and goes on with the next pages', () => {
    const w = new OggStreamWriter(5);
    const pages = [0, 1, 2].map((i) => { w.write(packet(50, i), BigInt(i)); return w.flush()[0]!; });
    pages[1]![40]! ^= 0xff; // corrupt the body of the middle page
    const { packets, errors } = readAll(Buffer.concat(pages), 13);
    expect(packets.map((p) => p.granule)).toEqual([0n, 2n]);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.every((e) => e.code === 'PARSE_ERROR')).toBe(true);
    expect(errors[0]!.message).toContain(`offset ${pages[0]!.length}`);
  });

  it('reports garbage before a page and still reads the page', () => {
    const { packets, errors } = readAll(Buffer.concat([Buffer.from('junk!'), PAGE]));
    expect(packets).toHaveLength(2);
    expect(errors.map((e) => e.code)).toEqual(['PARSE_ERROR']);
  });

  it('reports a truncated stream at end() with PARSE_ERROR', () => {
    const w = new OggStreamWriter(5);
    w.write(packet(100, 1), 1n);
    const bytes = Buffer.concat(w.flush(true));
    const { packets, errors } = readAll(bytes.subarray(0, bytes.length - 5));
    expect(packets).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['PARSE_ERROR']);
  });

  it('at end(), recovers a page hidden behind a false "OggS" that claimed more bytes than came', () => {
    const falseStart = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(22), Buffer.from([10])]); // 10 segments: PAGE's first bytes
    const { packets, errors } = readAll(Buffer.concat([falseStart, PAGE]));
    expect(packets.map((p) => Buffer.from(p.data).toString())).toEqual(['abc', '']);
    expect(errors.map((e) => e.code)).toEqual(['PARSE_ERROR']);
  });

  it('reports a lost page (sequence gap) and drops the packet it cut', () => {
    const w = new OggStreamWriter(5);
    const pages = [...w.write(packet(255 * 300, 1), 1n), ...w.flush()];
    w.write(packet(5, 2), 2n);
    pages.push(...w.flush(true));
    const { packets, errors } = readAll(Buffer.concat([pages[0]!, pages[2]!]));
    expect(packets.map((p) => p.data.length)).toEqual([5]);
    expect(errors.map((e) => e.code)).toEqual(['PARSE_ERROR']);
  });
});

describe('scanOggPages', () => {
  const w = new OggStreamWriter(0x1234);
  const pages = [
    ...w.write(Buffer.from('head'), 0n), ...w.flush(),
    ...w.write(Buffer.alloc(300, 7), 960n), ...w.flush(),
    ...w.write(Buffer.alloc(20, 9), 1920n), ...w.flush(),
  ];
  const file = Buffer.concat(pages);

  it('lists every whole page with its offset, flags, granule, serial and sequence', () => {
    const found = scanOggPages(file);
    expect(found.map((p) => [p.offset, p.length, p.flags, p.granule, p.serial, p.sequence])).toEqual([
      [0, pages[0]!.length, OGG_BOS, 0n, 0x1234, 0],
      [pages[0]!.length, pages[1]!.length, 0, 960n, 0x1234, 1],
      [pages[0]!.length + pages[1]!.length, pages[2]!.length, 0, 1920n, 0x1234, 2],
    ]);
  });

  it('stops at a page cut short, one whose CRC fails, or bytes that are not a page', () => {
    const two = pages[0]!.length + pages[1]!.length;
    expect(scanOggPages(file.subarray(0, file.length - 1))).toHaveLength(2);
    expect(scanOggPages(file.subarray(0, two + 20))).toHaveLength(2);
    const corrupt = Buffer.from(file);
    corrupt[two + 30]! ^= 0xff;
    expect(scanOggPages(corrupt)).toHaveLength(2);
    expect(scanOggPages(Buffer.concat([file, Buffer.from('garbage after the pages')]))).toHaveLength(3);
    // A whole page again (its sequence number already seen): where a second writer began.
    expect(scanOggPages(Buffer.concat([file, pages[1]!]))).toHaveLength(3);
    expect(scanOggPages(Buffer.alloc(0))).toEqual([]);
  });
});
