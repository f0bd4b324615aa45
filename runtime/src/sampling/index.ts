/** Host side of sampling: validated options, the seeded Philox generator, the `sample` kernel's per-row inputs. */
export * from './rng.ts';
export * from './sampling-params.ts';
