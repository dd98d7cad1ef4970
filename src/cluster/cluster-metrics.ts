/**
 * What an operator scraping one node's /metrics sees of the cluster: how many live nodes this
 * node finds in the directory, and how many members are relayed across nodes. The rest of
 * /metrics stays per node (rooms, participants and media are counted where they live).
 */
import { Gauge, type Registry } from 'prom-client';
import type { ClusterRooms } from './cluster-rooms.js';

export function registerClusterMetrics(registry: Registry, cluster: ClusterRooms): void {
  const registers = [registry];
  new Gauge({
    name: 'callpeer_cluster_nodes',
    help: 'Live nodes of the cluster as this node (label node) finds them in the directory, itself included; 0 while the directory cannot be read',
    labelNames: ['node'],
    registers,
    async collect() {
      // A scrape must answer even when Redis does not: 0 says this node sees no cluster.
      this.set({ node: cluster.nodeId }, await cluster.nodeIds().then((ids) => ids.length, () => 0));
    },
  });
  new Gauge({
    name: 'callpeer_cluster_relayed_members',
    help: 'Members relayed across nodes: hosted = in rooms on this node with their socket on another, away = with their socket here and their room on another',
    labelNames: ['side'],
    registers,
    collect() {
      const r = cluster.relayedMembers();
      this.set({ side: 'hosted' }, r.hosted);
      this.set({ side: 'away' }, r.away);
    },
  });
}
