import { describe, expect, it } from 'vitest';
import { peerNetworkOptions } from '../../../src/cli/options.js';
import { isCallpeerError } from '../../../src/errors.js';

describe('peerNetworkOptions (bot, record, loadtest)', () => {
  it('maps --bind, --ice-server and --ice-transport-policy onto Peer options, leaving out what was not given', () => {
    expect(peerNetworkOptions({})).toEqual({});
    expect(peerNetworkOptions({ bind: '127.0.0.1', iceServer: ['turn:u:p@127.0.0.1:3478'], iceTransportPolicy: 'relay' })).toEqual({
      bindAddress: '127.0.0.1', iceServers: ['turn:u:p@127.0.0.1:3478'], iceTransportPolicy: 'relay',
    });
    expect(peerNetworkOptions({ iceTransportPolicy: 'all' })).toEqual({ iceTransportPolicy: 'all' });
  });

  it('refuses a policy other than all or relay with INVALID_CONFIG', () => {
    let err: unknown;
    try {
      peerNetworkOptions({ iceTransportPolicy: 'Relay' });
    } catch (e) {
      err = e;
    }
    expect(isCallpeerError(err) && err.code).toBe('INVALID_CONFIG');
  });
});
