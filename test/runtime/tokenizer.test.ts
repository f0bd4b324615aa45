/**
 * runtime/src/tokenizer on the tiny byte-level BPE that make-tiny writes (and on variations of its
 * files): round trips on fresh random text, exactly one BOS on every path that adds one, streaming
 * decode equal to the full decode without half characters, the chat template of a two-message
 * conversation, stop ids from generation_config.json, and errors that name the file.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOS_TOKEN, EOS_TOKEN, tinyTokenizerFiles } from '../../compiler/checkpoint/tiny-tokenizer.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { runMakeTiny } from '../../compiler/cli/commands/make-tiny.ts';
import type { LoadedTokenizer } from '../../runtime/src/tokenizer/index.ts';
import { TokenizerError, loadTokenizer } from '../../runtime/src/tokenizer/index.ts';
import { tempFolder } from '../checkpoint/helpers.ts';

const tmp = tempFolder('tokenizer');
afterAll(tmp.cleanup);

const files = tinyTokenizerFiles(loadConfig('configs/tiny-moe-128.json'));
const tokenizerJson = JSON.parse(files.tokenizer) as Record<string, unknown>;
const tokenizerConfig = JSON.parse(files.tokenizerConfig) as Record<string, unknown>;

let counter = 0;
/** A folder with the tiny tokenizer files, each replaceable (string: written as is; null: left out). */
function folder(over: { tokenizer?: unknown; config?: unknown; generation?: unknown; extra?: Record<string, string> } = {}): string {
  const dir = path.join(tmp.dir, `t${counter++}`);
  mkdirSync(dir);
  const put = (name: string, v: unknown) => {
    if (v === null) return;
    writeFileSync(path.join(dir, name), typeof v === 'string' ? v : JSON.stringify(v));
  };
  put('tokenizer.json', over.tokenizer === undefined ? tokenizerJson : over.tokenizer);
  put('tokenizer_config.json', over.config === undefined ? tokenizerConfig : over.config);
  if (over.generation !== undefined) put('generation_config.json', over.generation);
  for (const [name, text] of Object.entries(over.extra ?? {})) put(name, text);
  return dir;
}

let tok: LoadedTokenizer;
beforeAll(() => {
  tok = loadTokenizer(folder());
});

const anyText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary-ascii', maxLength: 40 }));
const countBos = (ids: readonly number[]) => ids.filter((id) => id === tok.bosId).length;

describe('loading', () => {
  it('reads the tiny tokenizer: vocab, BOS and EOS ids', () => {
    expect(tok.vocabSize).toBe(274); // 2 specials + 256 bytes + 16 merges; the model's vocab_size is 384
    expect(tok.bosId).toBe(0);
    expect(tok.bosToken).toBe(BOS_TOKEN);
    expect(tok.eosToken).toBe(EOS_TOKEN);
    expect(tok.eosIds).toEqual([1]);
    expect(tok.addBosByDefault).toBe(true);
  });

  it('works on a checkpoint folder make-tiny wrote', async () => {
    const dir = path.join(tmp.dir, 'made');
    await runMakeTiny({ config: 'configs/tiny-bf16-dense1.json', out: dir, seed: '0', shards: '1' });
    expect(readdirSync(dir)).toContain('tokenizer_config.json');
    const t = loadTokenizer(dir);
    expect(t.decode(t.encode('the other one', { addBos: false }))).toBe('the other one');
    expect(t.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })[0]).toBe(t.bosId);
  });

  it('accepts AddedToken objects for bos/eos and adds generation_config stop ids, each once', () => {
    const added = (content: string) => ({ __type: 'AddedToken', content, lstrip: false, normalized: true, rstrip: false, single_word: false });
    const t = loadTokenizer(folder({
      config: { ...tokenizerConfig, bos_token: added(BOS_TOKEN), eos_token: added(EOS_TOKEN) },
      generation: { bos_token_id: 0, eos_token_id: [1, 200, 1] },
    }));
    expect(t.bosId).toBe(0);
    expect(t.eosIds).toEqual([1, 200]);
  });
});

describe('round trips', () => {
  test.prop([anyText])('decode(encode(text)) is the text', (text) => {
    const ids = tok.encode(text, { addBos: false });
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)).toBe(true);
    expect(tok.decode(ids)).toBe(text);
  });

  test.prop([anyText])('with a BOS: the BOS text then the text; skipping specials gives the text', (text) => {
    fc.pre(!text.startsWith(BOS_TOKEN));
    const ids = tok.encode(text, { addBos: true });
    expect(tok.decode(ids)).toBe(BOS_TOKEN + text);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(text);
  });

  test.prop([fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { minLength: 1, maxLength: 5 })])('special tokens written in the text encode as their ids', (parts) => {
    const text = parts.join(EOS_TOKEN);
    const ids = tok.encode(text, { addBos: false });
    expect(ids.filter((id) => id === 1).length).toBe(parts.length - 1);
    expect(tok.decode(ids)).toBe(text);
  });
});

describe('exactly one BOS', () => {
  test.prop([anyText, fc.nat(3)])('encode with addBos: one BOS first, however many the text starts with', (text, k) => {
    fc.pre(!text.includes(BOS_TOKEN));
    const ids = tok.encode(BOS_TOKEN.repeat(k) + text, { addBos: true });
    expect(ids[0]).toBe(tok.bosId);
    expect(countBos(ids)).toBe(1);
    expect(tok.encode(text)).toEqual(ids); // the default is add_bos_token (true here)
  });

  test.prop([anyText])('encode without addBos adds none', (text) => {
    fc.pre(!text.includes(BOS_TOKEN));
    expect(countBos(tok.encode(text, { addBos: false }))).toBe(0);
  });

  test.prop([fc.array(fc.record({ role: fc.constantFrom('system', 'user', 'assistant'), content: fc.string({ unit: 'grapheme', maxLength: 20 }) }), { maxLength: 4 }), fc.boolean()])(
    'the chat template writes a BOS and the tokenizer would too: one',
    (messages, addGenerationPrompt) => {
      fc.pre(messages.every((m) => !m.content.includes(BOS_TOKEN)));
      expect(tok.renderChatTemplate(messages, { addGenerationPrompt }).startsWith(BOS_TOKEN)).toBe(true);
      const ids = tok.applyChatTemplate(messages, { addGenerationPrompt });
      expect(ids[0]).toBe(tok.bosId);
      expect(countBos(ids)).toBe(1);
    },
  );

  it('a template without {{ bos_token }} still starts with one BOS; with add_bos_token false and no BOS in the template, none', () => {
    const chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}";
    const messages = [{ role: 'user', content: 'hi' }];
    const plain = loadTokenizer(folder({ config: { ...tokenizerConfig, chat_template } }));
    expect(plain.applyChatTemplate(messages)).toEqual([0, ...plain.encode('user: hi\n', { addBos: false })]);
    const noBos = loadTokenizer(folder({ config: { ...tokenizerConfig, chat_template, add_bos_token: false } }));
    expect(noBos.applyChatTemplate(messages)).toEqual(noBos.encode('user: hi\n', { addBos: false }));
    expect(noBos.encode('hi')).toEqual(noBos.encode('hi', { addBos: false }));
    // A template that writes two BOS tokens: still one.
    const twice = loadTokenizer(folder({ config: { ...tokenizerConfig, chat_template: `{{ bos_token }}{{ bos_token }}${chat_template}` } }));
    expect(twice.applyChatTemplate(messages)).toEqual(plain.applyChatTemplate(messages));
  });
});

describe('streaming decode', () => {
  const streamed = (ids: readonly number[], skipSpecialTokens = false) => {
    const s = tok.streamDecoder({ skipSpecialTokens });
    const pieces = ids.map((id) => s.push(id));
    return { pieces, text: pieces.join('') + s.flush() };
  };

  test.prop([anyText, fc.boolean()])('pieces of encoded text join to the full decode and never hold half a character', (text, addBos) => {
    const ids = tok.encode(text, { addBos });
    const { pieces, text: joined } = streamed(ids);
    expect(joined).toBe(tok.decode(ids));
    for (const p of pieces) expect(p.includes('\uFFFD') && !text.includes('\uFFFD')).toBe(false);
  });

  test.prop([fc.array(fc.integer({ min: 0, max: 383 }), { maxLength: 40 }), fc.boolean()])('any id sequence (invalid UTF-8 too) joins to the full decode', (ids, skip) => {
    expect(streamed(ids, skip).text).toBe(tok.decode(ids, { skipSpecialTokens: skip }));
  });

  it('holds a three-byte character until its last token', () => {
    const ids = tok.encode('日本', { addBos: false });
    expect(ids.length).toBe(6); // one token per byte: no merges for these
    expect(streamed(ids).pieces).toEqual(['', '', '日', '', '', '本']);
  });
});

describe('chat template', () => {
  const conversation = [
    { role: 'user', content: 'Who are you?' },
    { role: 'assistant', content: 'A tiny model.' },
  ];

  it('renders a two-message conversation as the DeepSeek format', () => {
    expect(tok.renderChatTemplate(conversation)).toBe(`${BOS_TOKEN}<｜User｜>Who are you?<｜Assistant｜>A tiny model.${EOS_TOKEN}`);
    expect(tok.renderChatTemplate(conversation, { addGenerationPrompt: true })).toBe(
      `${BOS_TOKEN}<｜User｜>Who are you?<｜Assistant｜>A tiny model.${EOS_TOKEN}<｜Assistant｜>`,
    );
  });

  it('tokenizes it with the specials as their ids', () => {
    const body = tok.encode('<｜User｜>Who are you?<｜Assistant｜>A tiny model.', { addBos: false });
    expect(tok.applyChatTemplate(conversation)).toEqual([0, ...body, 1]);
    const prompt = tok.applyChatTemplate(conversation, { addGenerationPrompt: true });
    expect(prompt).toEqual([0, ...body, 1, ...tok.encode('<｜Assistant｜>', { addBos: false })]);
    expect(tok.decode(prompt)).toBe(tok.renderChatTemplate(conversation, { addGenerationPrompt: true }));
  });

  it('reads chat_template.jinja when tokenizer_config.json has none', () => {
    const { chat_template: _, ...rest } = tokenizerConfig;
    const t = loadTokenizer(folder({ config: rest, extra: { 'chat_template.jinja': "{{ bos_token }}{{ messages[0]['content'] }}" } }));
    expect(t.renderChatTemplate([{ role: 'user', content: 'x' }])).toBe(`${BOS_TOKEN}x`);
  });
});

describe('errors name the file', () => {
  const fails = (dir: string, file: string, what: RegExp) => {
    let error: unknown;
    try {
      loadTokenizer(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenizerError);
    expect((error as TokenizerError).file).toBe(path.join(dir, file));
    expect((error as Error).message).toContain(path.join(dir, file));
    expect((error as Error).message).toMatch(what);
  };

  it('tokenizer.json missing', () => fails(folder({ tokenizer: null }), 'tokenizer.json', /not found/));
  it('tokenizer.json not JSON', () => fails(folder({ tokenizer: '{"model": {' }), 'tokenizer.json', /not valid JSON/));
  it('tokenizer.json not an object', () => fails(folder({ tokenizer: '[1, 2]' }), 'tokenizer.json', /JSON object/));
  it('tokenizer.json without a model', () => fails(folder({ tokenizer: { ...tokenizerJson, model: undefined } }), 'tokenizer.json', /model/));
  it('tokenizer_config.json not JSON', () => fails(folder({ config: 'nope' }), 'tokenizer_config.json', /not valid JSON/));
  it('a bos_token that is not in the vocabulary', () => fails(folder({ config: { ...tokenizerConfig, bos_token: '<s>' } }), 'tokenizer_config.json', /"<s>" is not a token/));
  it('generation_config.json with a bad eos id', () => fails(folder({ generation: { eos_token_id: 'x' } }), 'generation_config.json', /eos_token_id/));
  it('generation_config.json with an eos id outside the vocabulary', () => fails(folder({ generation: { eos_token_id: [1, 999] } }), 'generation_config.json', /outside the vocabulary/));

  it('a folder that does not exist', () => {
    expect(() => loadTokenizer(path.join(tmp.dir, 'absent'))).toThrow(/absent: is not a folder/);
  });

  it('no chat template, and one that does not parse, when it is used', () => {
    const { chat_template: _, ...rest } = tokenizerConfig;
    const dir = folder({ config: rest });
    expect(() => loadTokenizer(dir).applyChatTemplate([])).toThrow(`${path.join(dir, 'tokenizer_config.json')}: has no chat_template`);
    const broken = folder({ config: { ...tokenizerConfig, chat_template: '{% for m in messages %}' } });
    expect(() => loadTokenizer(broken).renderChatTemplate([])).toThrow(/tokenizer_config.json: chat_template does not parse/);
  });

  it('decode of a negative or fractional id throws; ids past the tokenizer vocabulary (up to the model vocab) add nothing', () => {
    expect(() => tok.decode([5, -1])).toThrow(/token id -1 is not a non-negative integer/);
    expect(() => tok.decode([1.5])).toThrow(RangeError);
    expect(tok.decode([])).toBe('');
    const [h] = tok.encode('h', { addBos: false });
    expect(tok.decode([h, 274, 383, h])).toBe('hh');
  });
});
