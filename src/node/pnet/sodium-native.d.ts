// sodium-native ships no types (and @types/sodium-native describes version 2); only what mesh calls
declare module 'sodium-native' {
  /** bytes of a streaming XSalsa20 state (key, nonce, counter, the unused rest of a block) */
  export const crypto_stream_xor_STATEBYTES: number
  export function crypto_stream_xor_init (state: Uint8Array, nonce: Uint8Array, key: Uint8Array): void
  /** XORs m into c (same length; c may be m) and advances the state */
  export function crypto_stream_xor_update (state: Uint8Array, c: Uint8Array, m: Uint8Array): void
  /** wipes the state */
  export function crypto_stream_xor_final (state: Uint8Array): void
}
