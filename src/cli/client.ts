import { createControlClient } from '../node/control/index.js'
import { homePaths, resolveHome } from '../node/home.js'
import type { ControlClient } from '../node/control/index.js'

/** The CLI's only way to its daemon: the control socket in MESH_HOME. */
export function daemonClient (homeFlag: string | undefined): ControlClient {
  const home = resolveHome(homeFlag)
  return createControlClient({ path: homePaths(home).socket, home })
}
