/** Where Linux publishes the facts we read; every path is joined to the reader's root. */
export const CPU_ONLINE_PATH = '/sys/devices/system/cpu/online'
export const NODE_DIR = '/sys/devices/system/node'
export const NODE_ONLINE_PATH = `${NODE_DIR}/online`
export const PROC_MEMINFO_PATH = '/proc/meminfo'

/** Linux caps NR_CPUS at 8192; anything far above is a corrupt list, not a machine. */
export const MAX_CPU_ID = 65_535

/** nvidia-smi can hang on a wedged driver; a capability probe must not hold up start. */
export const NVIDIA_SMI_TIMEOUT_MS = 5_000
export const NVIDIA_SMI = 'nvidia-smi'
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total,uuid', '--format=csv,noheader,nounits']

export const NUMACTL = 'numactl'
