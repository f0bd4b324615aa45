/**
 * The tokenizer of a checkpoint folder: Hugging Face's tokenizer.json run by @huggingface/tokenizers
 * (pure JavaScript, no native code, no network), tokenizer_config.json for the special tokens and
 * the chat template (rendered by @huggingface/jinja), generation_config.json for extra stop ids.
 *
 * BOS policy: every path that asks for a BOS gets exactly one, at the start. encode() never lets
 * the tokenizer's post-processor add specials (tokenizer.json's TemplateProcessing adds a BOS of its
 * own); it tokenizes the text alone, drops any BOS tokens the text starts with and puts one BOS in
 * front. Chat templates that write `{{ bos_token }}` themselves (DeepSeek-V3's does) and templates
 * that do not both end up with one BOS.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type { StreamDecoder } from './stream-decoder.ts';
import { createStreamDecoder } from './stream-decoder.ts';

/** A problem with one of the tokenizer files; the message names the file. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
  readonly userFacing = true;
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
  /** Other fields a template may read (tool calls and the like) pass through untouched. */
  readonly [key: string]: unknown;
}

export interface EncodeOptions {
  /** Put one BOS in front (and drop any the text starts with). Default: tokenizer_config.json's add_bos_token, true when absent. */
  readonly addBos?: boolean;
}

export interface DecodeOptions {
  /** Leave special tokens (BOS, EOS, added specials) out of the text. Default false. */
  readonly skipSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** End with the assistant prefix so the model answers. Default false. */
  readonly addGenerationPrompt?: boolean;
  /** More template variables (tools, …). */
  readonly variables?: Readonly<Record<string, unknown>>;
}

export interface LoadedTokenizer {
  readonly modelDir: string;
  /** One more than the largest id of the vocabulary and added tokens (the model's vocab_size may be larger). */
  readonly vocabSize: number;
  /** null when the tokenizer has no BOS token. */
  readonly bosId: number | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  /** Stop ids: the EOS token, then those generation_config.json lists, each once. */
  readonly eosIds: readonly number[];
  readonly addBosByDefault: boolean;
  encode(text: string, options?: EncodeOptions): number[];
  /** Text of the ids; ids without a token (≥ vocabSize) add nothing; a negative or fractional id throws. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** Ids in, text pieces out, never half a character; the pieces joined equal decode(ids). */
  streamDecoder(options?: DecodeOptions): StreamDecoder;
  /** The chat template's text for a conversation. */
  renderChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
  /** The chat template's ids: one BOS first (when the tokenizer has one), special tokens in the text parsed as such. */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[];
}

export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';
export const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

type Json = Record<string, unknown>;

function readJson(file: string, required: boolean): Json | null {
  if (!existsSync(file)) {
    if (!required) return null;
    throw new TokenizerError(file, 'not found; dsv3c needs the Hugging Face tokenizer files next to the weights');
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TokenizerError(file, `cannot be read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(file, `is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TokenizerError(file, 'must hold a JSON object');
  return json as Json;
}

/** bos_token / eos_token: a string, an AddedToken object {content, …}, or null. */
function tokenString(file: string, key: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  throw new TokenizerError(file, `${key} must be a string or an object with "content", got ${JSON.stringify(v)}`);
}

/** chat_template: a string, or a list of {name, template} where "default" is the one used. */
function chatTemplateOf(file: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((t) => typeof t === 'object' && t !== null && (t as Json).name === 'default');
    if (named && typeof (named as Json).template === 'string') return (named as Json).template as string;
  }
  throw new TokenizerError(file, 'chat_template must be a string or a list with a {"name": "default", "template": …} entry');
}

function idList(file: string, key: string, v: unknown): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) if (!Number.isInteger(x) || (x as number) < 0) throw new TokenizerError(file, `${key} must be a non-negative integer or a list of them, got ${JSON.stringify(v)}`);
  return list as number[];
}

export function loadTokenizer(modelDir: string): LoadedTokenizer {
  const dir = path.resolve(modelDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new TokenizerError(dir, 'is not a folder (expected a checkpoint folder with tokenizer.json)');
  const tokenizerFile = path.join(dir, TOKENIZER_FILE);
  const configFile = path.join(dir, TOKENIZER_CONFIG_FILE);
  const generationFile = path.join(dir, GENERATION_CONFIG_FILE);

  const tokenizerJson = readJson(tokenizerFile, true)!;
  const config = readJson(configFile, false) ?? {};
  const generation = readJson(generationFile, false) ?? {};

  let hf: Tokenizer;
  try {
    hf = new Tokenizer(tokenizerJson, config);
  } catch (e) {
    throw new TokenizerError(tokenizerFile, `is not a tokenizer @huggingface/tokenizers can load: ${(e as Error).message}`);
  }

  const vocab = hf.get_vocab(true);
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  if (vocabSize === 0) throw new TokenizerError(tokenizerFile, 'has an empty vocabulary');

  const idOf = (file: string, key: string, token: string): number => {
    const id = hf.token_to_id(token);
    if (id === undefined) throw new TokenizerError(file, `${key} ${JSON.stringify(token)} is not a token of ${TOKENIZER_FILE}`);
    return id;
  };
  const checkId = (file: string, key: string, id: number): number => {
    if (id >= vocabSize) throw new TokenizerError(file, `${key} ${id} is outside the vocabulary [0, ${vocabSize})`);
    return id;
  };

  let bosToken = tokenString(configFile, 'bos_token', config.bos_token);
  let bosId = bosToken === null ? null : idOf(configFile, 'bos_token', bosToken);
  if (bosId === null) {
    const fromGeneration = idList(generationFile, 'bos_token_id', generation.bos_token_id);
    if (fromGeneration.length > 0) {
      bosId = checkId(generationFile, 'bos_token_id', fromGeneration[0]);
      bosToken = hf.id_to_token(bosId) ?? null;
    }
  }
  const eosToken = tokenString(configFile, 'eos_token', config.eos_token);
  const eosIds = [...new Set([
    ...(eosToken === null ? [] : [idOf(configFile, 'eos_token', eosToken)]),
    ...idList(generationFile, 'eos_token_id', generation.eos_token_id).map((id) => checkId(generationFile, 'eos_token_id', id)),
  ])];
  if (config.add_bos_token !== undefined && typeof config.add_bos_token !== 'boolean') {
    throw new TokenizerError(configFile, `add_bos_token must be true or false, got ${JSON.stringify(config.add_bos_token)}`);
  }
  const addBosByDefault = bosId !== null && config.add_bos_token !== false;

  let templateText = chatTemplateOf(configFile, config.chat_template);
  let templateFile = configFile;
  if (templateText === null && existsSync(path.join(dir, CHAT_TEMPLATE_FILE))) {
    templateFile = path.join(dir, CHAT_TEMPLATE_FILE);
    templateText = readFileSync(templateFile, 'utf8');
  }
  let template: Template | null = null;
  const chatTemplate = (): Template => {
    if (templateText === null) throw new TokenizerError(configFile, `has no chat_template (nor is there a ${CHAT_TEMPLATE_FILE})`);
    if (template === null) {
      try {
        template = new Template(templateText);
      } catch (e) {
        throw new TokenizerError(templateFile, `chat_template does not parse: ${(e as Error).message}`);
      }
    }
    return template;
  };

  /** Tokens of the text alone: specials written in the text are recognized, none are added. */
  const tokenize = (text: string): number[] => (text === '' ? [] : hf.encode(text, { add_special_tokens: false }).ids);
  const oneBos = (ids: number[]): number[] => {
    if (bosId === null) return ids;
    let i = 0;
    while (i < ids.length && ids[i] === bosId) i++;
    return [bosId, ...ids.slice(i)];
  };
  const decode = (ids: readonly number[], options: DecodeOptions = {}): string => {
    // Ids past the tokenizer's vocabulary (the model's embedding is often larger: DeepSeek-V3 has
    // 129280 rows for 128815 tokens) have no text and decode to nothing, as in Rust tokenizers.
    for (const id of ids) if (!Number.isInteger(id) || id < 0) throw new RangeError(`decode: token id ${id} is not a non-negative integer`);
    if (ids.length === 0) return '';
    return hf.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  };
  const renderChatTemplate = (messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string => {
    const t = chatTemplate();
    try {
      return t.render({
        ...options.variables,
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: options.addGenerationPrompt ?? false,
        bos_token: bosToken ?? '',
        eos_token: eosToken ?? '',
      });
    } catch (e) {
      throw new TokenizerError(templateFile, `chat_template failed to render: ${(e as Error).message}`);
    }
  };

  return {
    modelDir: dir,
    vocabSize,
    bosId,
    bosToken,
    eosToken,
    eosIds,
    addBosByDefault,
    encode(text, options = {}) {
      if (options.addBos === true && bosId === null) throw new TokenizerError(configFile, 'encode asked for a BOS, but the tokenizer has no bos_token');
      const ids = tokenize(text);
      return options.addBos ?? addBosByDefault ? oneBos(ids) : ids;
    },
    decode,
    streamDecoder: (options = {}) => createStreamDecoder((ids) => decode(ids, options)),
    renderChatTemplate,
    applyChatTemplate(messages, options = {}) {
      const ids = tokenize(renderChatTemplate(messages, options));
      return bosId !== null && (ids[0] === bosId || addBosByDefault) ? oneBos(ids) : ids;
    },
  };
}
