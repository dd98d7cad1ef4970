export * from './signaling.js';
export * from './pcm.js';
