/** The library API of callpeer. */
export { startServer, type RunningServer, type StartOptions } from './app.js';
export { loadServeConfig, type ServeConfig } from './config.js';
export { CallpeerError, isCallpeerError, type ErrorCode } from './errors.js';
export { createLogger, silentLogger, type Logger } from './log.js';
export { SignalingClient, type SignalingClientOptions, type SignalingClientEvents, type JoinParams } from './client/signaling-client.js';
export { parseRoomUrl, type RoomTarget } from './client/room-url.js';
export * from './protocol/index.js';
export { Bot, type BotOptions, type BotPeerStats, type BotEvents } from './bots/bot.js';
export { openAudioFile } from './bots/file-sources.js';
export { Recorder, type RecorderOptions, type RecorderEvents } from './bots/recorder/recorder.js';
export type { Manifest, ManifestFile } from './bots/recorder/manifest.js';
export { MeshAgent, type MeshAgentOptions, type RemotePeer } from './client/mesh-agent.js';
export { EncodedSource, ToneSource, PacketListSource } from './rtc/opus-sources.js';
export { ToneFrames, SampleFrames, wavFrames, type PcmFrameSource } from './media/frames.js';
export { Peer, cleanupRtc, type PeerOptions } from './rtc/peer.js';
export { runLoadTest, type LoadTestResult, type ProgressSnapshot, type RunOptions as LoadTestOptions } from './loadtest/runner.js';
export type { LoadTestInput, LoadTestParams, LoadThresholds } from './loadtest/params.js';
export { formatReport as formatLoadTestReport } from './loadtest/report.js';
