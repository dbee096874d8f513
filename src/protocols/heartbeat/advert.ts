import { Ajv } from 'ajv'
import type { JSONSchemaType } from 'ajv'

/** Capacity of one NUMA node as its owner sees it. */
export interface NumaAdvert {
  id: number
  cores: number
  freeCores: number
  memoryMB: number
  freeMemoryMB: number
}

export interface GpuAdvert {
  index: number
  name: string
  memoryMB: number
}

/**
 * What a node says about itself in each heartbeat. Capacity changes often, so it travels here
 * (gossip) rather than in the DHT, which only holds the slow-changing tag → peer mapping.
 */
export interface Advert {
  v: 1
  peerId: string
  /** strictly increasing per node, across restarts (a clock-based counter): older adverts lose */
  seq: number
  /** sender's clock, ms since epoch */
  sentAt: number
  name: string
  version: string
  addresses: string[]
  tags: string[]
  cores: number
  memoryMB: number
  numa: NumaAdvert[]
  gpus: GpuAdvert[]
  numactl: boolean
  running: number
  /** set in the goodbye heartbeat of a daemon that stops gracefully */
  leaving: boolean
  /** the node's certificate from the mesh authority (base64), when the mesh has one */
  cert?: string
}

const count = { type: 'integer', minimum: 0, maximum: 1_000_000_000 } as const
const text = (maxLength: number) => ({ type: 'string', maxLength } as const)

const schema: JSONSchemaType<Advert> = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'peerId', 'seq', 'sentAt', 'name', 'version', 'addresses', 'tags', 'cores',
    'memoryMB', 'numa', 'gpus', 'numactl', 'running', 'leaving'],
  properties: {
    v: { type: 'integer', const: 1 },
    peerId: text(128),
    seq: { type: 'integer', minimum: 0 },
    sentAt: { type: 'integer', minimum: 0 },
    name: text(128),
    version: text(64),
    addresses: { type: 'array', maxItems: 32, items: text(512) },
    tags: { type: 'array', maxItems: 64, items: text(64) },
    cores: count,
    memoryMB: count,
    numa: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'cores', 'freeCores', 'memoryMB', 'freeMemoryMB'],
        properties: { id: count, cores: count, freeCores: count, memoryMB: count, freeMemoryMB: count }
      }
    },
    gpus: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['index', 'name', 'memoryMB'],
        properties: { index: count, name: text(128), memoryMB: count }
      }
    },
    numactl: { type: 'boolean' },
    running: count,
    leaving: { type: 'boolean' },
    cert: { type: 'string', maxLength: 8192, nullable: true }
  }
}

export interface AdvertValidator {
  (value: unknown): value is Advert
  /** one line naming the first problem of the last failed call */
  lastError: () => string
}

/** Compiled once per service, not per message. */
export function createAdvertValidator (): AdvertValidator {
  const ajv = new Ajv({ allErrors: false })
  const validate = ajv.compile(schema)
  const fn = ((value: unknown) => validate(value)) as AdvertValidator
  fn.lastError = () => {
    const e = validate.errors?.[0]
    return e == null ? 'invalid advert' : `advert${e.instancePath.replaceAll('/', '.')}: ${e.message ?? 'invalid'}`
  }
  return fn
}
