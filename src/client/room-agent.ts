/**
 * A room member in Node whatever the room's topology: the join tells (`joined.room.topology`),
 * so the agent is chosen after it, on the same signaling connection. Its users see only the
 * common contract (AgentEvents); this is the one place that knows there are two kinds.
 */
import { silentLogger } from '../log.js';
import type { JoinedMessage, Participant, Topology } from '../protocol/signaling.js';
import type { AgentEvents } from './agent-events.js';
import { joinParams, type AgentOptions } from './agent-options.js';
import { MeshAgent } from './mesh-agent.js';
import { SfuAgent } from './sfu-agent.js';
import { SignalingClient } from './signaling-client.js';

/** A MeshAgent or an SfuAgent, seen through what both have: the common events and these. */
export interface RoomAgent {
  /** Which of the two it is, for reports; nothing else needs to know. */
  readonly topology: Topology;
  /** Our participant id in the room. */
  readonly id: string | undefined;
  /** Everyone else in the room, as the server last described them. */
  roomParticipants(): Participant[];
  /** Leaves the room and closes every connection. Idempotent. */
  close(): Promise<void>;
  on: Listen<RoomAgent>;
  once: Listen<RoomAgent>;
  off: Listen<RoomAgent>;
}

/**
 * `on(event, listener)` for each event of AgentEvents, as one overload each: an agent's own
 * `on` (Node's EventEmitter<MeshAgentEvents>) satisfies each, which a single generic
 * signature would hide behind a conditional type.
 */
type Listen<R> = Overloads<{ [K in keyof AgentEvents]: (event: K, listener: (...args: AgentEvents[K]) => void) => R }[keyof AgentEvents]>;
type Overloads<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/**
 * Connects, joins, and hands the room to a MeshAgent or an SfuAgent. `setup` attaches the
 * caller's listeners before the agent starts connecting (a mesh newcomer offers at once).
 * Rejects like MeshAgent.start() (the server's code, or CONNECTION_FAILED).
 */
export async function joinRoom(options: AgentOptions, setup?: (agent: RoomAgent, joined: JoinedMessage) => void): Promise<{ agent: RoomAgent; joined: JoinedMessage }> {
  const client = new SignalingClient(options.wsUrl, { ...options.signaling, log: options.log ?? silentLogger() });
  let joined: JoinedMessage;
  try {
    await client.connect();
    joined = await client.join(joinParams(options));
  } catch (err) {
    await client.close();
    throw err;
  }
  const agent = joined.room.topology === 'sfu' ? new SfuAgent(options, client) : new MeshAgent(options, client);
  setup?.(agent, joined);
  agent.adopt(joined);
  return { agent, joined };
}
