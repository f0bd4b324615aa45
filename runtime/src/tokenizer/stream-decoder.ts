/**
 * Streaming detokenization: ids arrive one at a time during generation and each becomes the text
 * it adds, without ever emitting half of a multi-byte character. A byte-level BPE token can end in
 * the middle of a UTF-8 sequence (日 is three tokens in a byte vocabulary); decoding that alone
 * gives U+FFFD. The approach is text-generation-inference's: keep two offsets into the ids,
 * `prefix` and `read`; decode ids[prefix:] and ids[prefix:read]; when the first is longer and does
 * not end in U+FFFD (an incomplete sequence always decodes to a trailing U+FFFD), emit the part
 * after the second and move both offsets on. Decoding from `prefix` rather than from 0 keeps each
 * step short, and decoding a window with one token of left context keeps decoders that treat the
 * first token specially (a leading space stripped) consistent with the full decode.
 *
 * The concatenation of every piece `push` returns plus `flush()` equals the decode of all ids.
 */

export interface StreamDecoder {
  /** Adds one id; returns the text it completes ('' while a character is still incomplete). */
  push(id: number): string;
  /** The text still held back (an incomplete character decodes as U+FFFD); ends the stream. */
  flush(): string;
  /** Every id pushed so far. */
  readonly ids: readonly number[];
}

const REPLACEMENT = '\uFFFD';

export function createStreamDecoder(decode: (ids: readonly number[]) => string): StreamDecoder {
  const ids: number[] = [];
  let prefix = 0;
  let read = 0;
  let done = false;
  return {
    ids,
    push(id: number): string {
      if (done) throw new Error('stream decoder: push after flush');
      ids.push(id);
      const before = decode(ids.slice(prefix, read));
      const after = decode(ids.slice(prefix));
      if (after.length > before.length && !after.endsWith(REPLACEMENT)) {
        prefix = read;
        read = ids.length;
        return after.slice(before.length);
      }
      return '';
    },
    flush(): string {
      if (done) return '';
      done = true;
      const before = decode(ids.slice(prefix, read));
      const after = decode(ids.slice(prefix));
      prefix = read = ids.length;
      return after.slice(before.length);
    },
  };
}
