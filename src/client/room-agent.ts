/**
 * A room member in Node whatever the room's topology: the join tells (`joined.room.topology`),
 * so the agent is chosen after it, on the same signaling connection.
 */
import { silentLogger } from '../log.js';
import type { JoinedMessage } from '../protocol/signaling.js';
import { joinParams, type AgentOptions } from './agent-options.js';
import { MeshAgent } from './mesh-agent.js';
import { SfuAgent } from './sfu-agent.js';
import { SignalingClient } from './signaling-client.js';

export type RoomAgent = MeshAgent | SfuAgent;

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
