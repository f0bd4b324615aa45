/** safetensors is little-endian and we reinterpret bytes through typed arrays, which use the host's order. */
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function assertLittleEndianHost(): void {
  if (!LITTLE) throw new Error('dsv3c reads and writes safetensors through typed arrays and needs a little-endian host');
}

/** Float32 values of little-endian F32 bytes (a view when aligned, else a copy). */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  assertLittleEndianHost();
  if (bytes.length % 4 !== 0) throw new RangeError(`float32FromBytes: ${bytes.length} bytes is not a whole number of F32 values`);
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new Float32Array(bytes.slice().buffer);
}
