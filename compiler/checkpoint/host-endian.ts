/** safetensors is little-endian and we reinterpret bytes through typed arrays, which use the host's order. */
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function assertLittleEndianHost(): void {
  if (!LITTLE) throw new Error('dsv3c reads and writes safetensors through typed arrays and needs a little-endian host');
}
