/**
 * The dispatcher: any node's side of running a task somewhere in the mesh.
 *
 *   submit ─▶ stage files (hash once) ─▶ publish 'queued' ─▶ persist in the queue
 *     loop until placed or the wait limit:
 *       candidates = self + online peers (heartbeats) ─▶ place() (pure: filter → rank)
 *       ─▶ push to the best choice; rejected? next choice; none? wait for capacity
 *     placed ─▶ drop from the queue      timed out ─▶ publish 'rejected' with the reasons (exit 3)
 *
 *   watch(id) ─▶ placed events, live output (logs protocol), final records (gossip + store)
 */
export { Dispatcher } from './dispatcher.js'
export type { DispatchRequest, DispatchEvent, DispatcherComponents } from './dispatcher.js'
