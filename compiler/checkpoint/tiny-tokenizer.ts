import type { ModelConfig } from '../config/model-config.ts';
import { CheckpointError } from './checkpoint-error.ts';

export const BOS_TOKEN = '<｜begin▁of▁sentence｜>';
export const EOS_TOKEN = '<｜end▁of▁sentence｜>';

// A few merges so BPE has something to do; each uses only symbols that exist before it.
const MERGES: readonly [string, string][] = [
  ['Ġ', 't'], ['h', 'e'], ['i', 'n'], ['e', 'r'], ['a', 'n'], ['o', 'n'], ['r', 'e'], ['Ġ', 'a'],
  ['Ġt', 'he'], ['o', 'u'], ['Ġ', 's'], ['e', 'n'], ['Ġ', 'w'], ['a', 't'], ['Ġ', 'o'], ['i', 's'],
];

const CHAT_TEMPLATE =
  "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}" +
  '{{ bos_token }}{% for message in messages %}' +
  "{% if message['role'] == 'system' %}{{ message['content'] }}" +
  "{% elif message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}" +
  "{% elif message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] + eos_token }}{% endif %}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}";

/**
 * GPT-2's byte → printable character map that byte-level BPE vocabularies are written in:
 * printable Latin-1 bytes stand for themselves, the rest map to U+0100 onwards in byte order.
 */
export function byteSymbols(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

/**
 * tokenizer.json and tokenizer_config.json for a tiny byte-level BPE in the Hugging Face format:
 * the two specials at the config's bos/eos ids (0 and 1 when unset), the 256 byte symbols, then
 * as many merges as fit in vocab_size.
 */
export function tinyTokenizerFiles(config: ModelConfig): { tokenizer: string; tokenizerConfig: string } {
  const bos = config.bosTokenId ?? 0;
  const eos = config.eosTokenId ?? 1;
  const bad = (problem: string, expected: string) => new CheckpointError({ file: config.source, problem, expected });
  if (bos === eos) throw bad(`bos_token_id and eos_token_id are both ${bos}`, 'two different ids');
  if (Math.max(bos, eos) >= config.vocabSize) throw bad(`bos/eos ids ${bos}/${eos} do not fit vocab_size ${config.vocabSize}`, 'ids below vocab_size');
  if (config.vocabSize < 258) throw bad(`vocab_size is ${config.vocabSize}`, 'at least 258 for a byte-level tokenizer (256 bytes + 2 specials)');

  const vocab = new Map<string, number>();
  const taken = new Set([bos, eos]);
  let nextId = 0;
  const add = (token: string) => {
    while (taken.has(nextId)) nextId++;
    vocab.set(token, nextId);
    taken.add(nextId);
  };
  for (const s of byteSymbols()) add(s);
  const merges = MERGES.slice(0, Math.min(MERGES.length, config.vocabSize - 258));
  for (const [a, b] of merges) add(a + b);
  // JSON objects keep insertion order: list the vocab by id, as the real file does.
  const entries: [string, number][] = [[BOS_TOKEN, bos], [EOS_TOKEN, eos], ...vocab];
  entries.sort((x, y) => x[1] - y[1]);

  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(bos, BOS_TOKEN), special(eos, EOS_TOKEN)].sort((x, y) => x.id - y.id),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: BOS_TOKEN, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: BOS_TOKEN, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: BOS_TOKEN, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [BOS_TOKEN]: { id: BOS_TOKEN, ids: [bos], tokens: [BOS_TOKEN] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(entries),
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const tokenizerConfig = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: BOS_TOKEN,
    eos_token: EOS_TOKEN,
    pad_token: EOS_TOKEN,
    unk_token: null,
    clean_up_tokenization_spaces: false,
    model_max_length: config.maxPositionEmbeddings,
    tokenizer_class: 'PreTrainedTokenizerFast',
    chat_template: CHAT_TEMPLATE,
  };
  return { tokenizer: JSON.stringify(tokenizer, null, 2) + '\n', tokenizerConfig: JSON.stringify(tokenizerConfig, null, 2) + '\n' };
}
