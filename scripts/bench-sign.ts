/**
 * CPU per signature of the node key: @libp2p/crypto's `sign` (imports the key from a JWK on every
 * call) against withCachedSigning's (imported once), alternating in the same process. The payload is
 * the size of a task record. Prints median and spread of µs per signature over the rounds.
 *
 *   node dist/scripts/bench-sign.js [rounds] [signs-per-round]
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { withCachedSigning } from '../src/node/signing-key.js'
import { max, median, min } from './lib/stats.js'
import type { PrivateKey } from '@libp2p/interface'

async function perSign (key: PrivateKey, payload: Uint8Array, n: number): Promise<number> {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await key.sign(payload)
  return Number(process.hrtime.bigint() - t0) / 1000 / n
}

const rounds = Number(process.argv[2] ?? 15)
const n = Number(process.argv[3] ?? 2000)
const key = await generateKeyPair('Ed25519')
const cached = withCachedSigning(key)
const payload = randomBytes(1200)
const plain: number[] = []
const fast: number[] = []
await perSign(key, payload, n)
await perSign(cached, payload, n)
for (let r = 0; r < rounds; r++) {
  plain.push(await perSign(key, payload, n))
  fast.push(await perSign(cached, payload, n))
}
const line = (what: string, xs: number[]): string => `${what}: median ${median(xs).toFixed(1)} µs, min–max ${min(xs).toFixed(1)}–${max(xs).toFixed(1)} µs`
console.log(`${rounds} rounds of ${n} signatures of ${payload.byteLength} bytes, alternating`)
console.log(line('@libp2p/crypto sign (key imported per call)', plain))
console.log(line('withCachedSigning (imported once)', fast))
console.log(`ratio ${(median(fast) / median(plain)).toFixed(2)}×`)
