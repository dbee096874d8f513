// the xsalsa20 package (@libp2p/pnet's cipher; WebAssembly, 3× faster here than a pure-JS XSalsa20) ships no types
// @ts-expect-error no declaration file
import xsalsa20 from 'xsalsa20'

interface WasmXor {
  update: (input: Uint8Array, output: Uint8Array) => Uint8Array
  finalize: () => void
}

/**
 * Bytes XORed per call. The package runs every cipher of the process in one WebAssembly memory
 * (640 KiB, growable to 64 MiB) with one scratch area after a 64-byte slot per live cipher. A call
 * bigger than what is left grows the memory, which detaches the view every other cipher holds; each
 * of those then grows it again by its full size on its next call, until the limit throws. Small
 * windows keep the scratch area inside the first 640 KiB, so the memory never grows.
 */
const WINDOW = 16 * 1024

/**
 * One direction of a private-network connection: XSalsa20(psk, nonce) over the byte stream, chunk
 * by chunk as the bytes arrive. close() returns the cipher's slot (and wipes its key): a slot never
 * returned is lost for good, and after about 10,000 of them new connections fail.
 */
export class StreamXor {
  private xor?: WasmXor

  constructor (key: Uint8Array, nonce: Uint8Array) {
    if (key.byteLength !== 32) throw new Error(`a swarm key is 32 bytes, not ${key.byteLength}`)
    if (nonce.byteLength !== 24) throw new Error(`a pnet nonce is 24 bytes, not ${nonce.byteLength}`)
    this.xor = (xsalsa20 as (nonce: Uint8Array, key: Uint8Array) => WasmXor)(nonce, key)
  }

  update (data: Uint8Array): Uint8Array {
    const xor = this.xor
    if (xor == null) throw new Error('the connection\'s cipher is closed')
    const out = new Uint8Array(data.byteLength)
    for (let i = 0; i < data.byteLength; i += WINDOW) {
      const end = Math.min(i + WINDOW, data.byteLength)
      xor.update(data.subarray(i, end), out.subarray(i, end))
    }
    return out
  }

  get closed (): boolean {
    return this.xor == null
  }

  /** idempotent */
  close (): void {
    this.xor?.finalize()
    this.xor = undefined
  }
}
