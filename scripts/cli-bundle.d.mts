/** Types of cli-bundle.mjs (plain JavaScript: bin/dsv3c.js imports it before any TypeScript loader). */
export function freshBundle(): string | undefined;
export function buildBundle(): Promise<string>;
