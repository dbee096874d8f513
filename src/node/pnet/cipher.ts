import sodium from 'sodium-native'

/**
 * One direction of a private-network connection: XSalsa20(psk, nonce) over the byte stream, chunk
 * by chunk as the bytes arrive. libsodium's streaming XSalsa20 (native, about 4× the xsalsa20
 * WebAssembly package @libp2p/pnet uses, and faster than Noise's own cipher, so the swarm key no
 * longer doubles the cost of a byte). The state is a plain buffer of ours: nothing to leak; close()
 * wipes the key from it.
 */
export class StreamXor {
  private state?: Uint8Array

  constructor (key: Uint8Array, nonce: Uint8Array) {
    if (key.byteLength !== 32) throw new Error(`a swarm key is 32 bytes, not ${key.byteLength}`)
    if (nonce.byteLength !== 24) throw new Error(`a pnet nonce is 24 bytes, not ${nonce.byteLength}`)
    this.state = new Uint8Array(sodium.crypto_stream_xor_STATEBYTES)
    sodium.crypto_stream_xor_init(this.state, nonce, key)
  }

  /** the XORed bytes in a new buffer: `data` is left as it is */
  update (data: Uint8Array): Uint8Array {
    return this.updateAll([data], data.byteLength)
  }

  /** the XORed bytes of several buffers (`total` bytes in all), one after the other, in one new buffer */
  updateAll (parts: Iterable<Uint8Array>, total: number): Uint8Array {
    const state = this.live()
    // every byte is written below: no need to zero it first
    const out = Buffer.allocUnsafe(total)
    let offset = 0
    for (const part of parts) {
      sodium.crypto_stream_xor_update(state, out.subarray(offset, offset + part.byteLength), part)
      offset += part.byteLength
    }
    if (offset !== total) throw new Error(`expected ${total} bytes to encrypt, got ${offset}`)
    return out
  }

  /** XORs `data` where it lies, for buffers nobody else holds (a socket's reads): no copy, no garbage */
  updateInPlace (data: Uint8Array): Uint8Array {
    sodium.crypto_stream_xor_update(this.live(), data, data)
    return data
  }

  get closed (): boolean {
    return this.state == null
  }

  /** idempotent */
  close (): void {
    if (this.state != null) sodium.crypto_stream_xor_final(this.state)
    this.state = undefined
  }

  private live (): Uint8Array {
    if (this.state == null) throw new Error('the connection\'s cipher is closed')
    return this.state
  }
}
