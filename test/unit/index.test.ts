import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';

describe('the library entry point', () => {
  it('exports what the README examples use', () => {
    for (const name of ['startServer', 'loadServeConfig', 'SignalingClient', 'createLogger', 'Bot', 'ToneSource', 'Recorder',
      'MeshAgent', 'SfuAgent', 'joinRoom', 'OpusSender', 'Vp8SimulcastSender', 'parseIvf', 'runLoadTest', 'formatLoadTestReport', 'cleanupRtc', 'Bridge'] as const) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
