/** The SSRCs of the bare video forwarding loop, known to both ends instead of signaled. */
export const BARE_VIDEO_ROOM = 4;
/** Client `id`'s layer `layer` (0 low … 2 high). */
export const bareVideoSsrc = (id: number, layer: number): number => 0x70000 + id * 4 + layer;
/** The forwarder's down track `slot` to client `id`. */
export const downSsrc = (id: number, slot: number): number => 0x60000 + id * 4 + slot;
