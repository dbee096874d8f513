/**
 * CPU to seal and open Noise transport messages of a file transfer: Noise's default crypto (a Node
 * cipher keyed by the raw key bytes, per message) against noiseCrypto (keyed by a KeyObject made once
 * per session key), alternating in the same process. Each message is a yamux frame as Noise gets it:
 * a 12-byte header and 65,507 bytes of data in two parts. CPU = user + system time of the process over
 * each round (garbage collection included). Prints median and spread of µs per message, sealed and
 * opened.
 *
 *   node dist/scripts/bench-noise-crypto.js [rounds] [messages-per-round]
 */
import { randomBytes } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseCrypto } from '../src/node/noise-crypto.js'
import { max, median, min } from './lib/stats.js'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'

const HEADER = 12
const MESSAGE = 65_519

function perMessage (crypto: ICryptoInterface, k: Uint8Array, n: number): number {
  const ad = new Uint8Array(0)
  const nonce = new Uint8Array(12)
  const data = randomBytes(MESSAGE - HEADER)
  const header = randomBytes(HEADER)
  const t0 = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    new DataView(nonce.buffer).setUint32(4, i, true)
    const sealed = crypto.chaCha20Poly1305Encrypt(new Uint8ArrayList(header, data), nonce, ad, k)
    crypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k)
  }
  const used = process.cpuUsage(t0)
  return (used.user + used.system) / n
}

const rounds = Number(process.argv[2] ?? 10)
const n = Number(process.argv[3] ?? 2000)
const k = randomBytes(32)
const ours = noiseCrypto()
const before: number[] = []
const after: number[] = []
perMessage(defaultCrypto, k, n)
perMessage(ours, k, n)
for (let r = 0; r < rounds; r++) {
  before.push(perMessage(defaultCrypto, k, n))
  after.push(perMessage(ours, k, n))
}
const line = (what: string, xs: number[]): string => `${what}: median ${median(xs).toFixed(1)} µs, min–max ${min(xs).toFixed(1)}–${max(xs).toFixed(1)} µs`
console.log(`${rounds} rounds of ${n} messages of ${MESSAGE} bytes sealed and opened, alternating`)
console.log(line('Noise default (raw key per message)', before))
console.log(line('noiseCrypto (KeyObject per session key)', after))
console.log(`ratio ${(median(after) / median(before)).toFixed(2)}×`)
