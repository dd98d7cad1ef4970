export * from './signaling.js';
export * from './pcm.js';
export * from './close-codes.js';
