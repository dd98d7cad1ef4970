import dgram from 'node:dgram';

/** A UDP socket on 127.0.0.1 at a free port (tests stay on loopback). */
export async function bindLoopbackUdp(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return socket;
}
