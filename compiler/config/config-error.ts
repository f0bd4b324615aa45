/** A config.json that cannot describe a DeepseekV3ForCausalLM model: names the file, field, value and what was expected. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${file}: field "${field}" is ${describe(value)}; expected ${expected}`);
    this.name = 'ConfigError';
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  return JSON.stringify(value);
}
