/** The checkpoint's tokenizer: loadTokenizer(modelDir) and its types. */
export * from './tokenizer.ts';
export type { StreamDecoder } from './stream-decoder.ts';
export { createStreamDecoder } from './stream-decoder.ts';
