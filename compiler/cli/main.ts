import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-error.ts';
import { registerCheck } from './commands/check.ts';
import { registerCompile } from './commands/compile.ts';
import { registerInspect } from './commands/inspect.ts';
import { registerMakeTiny } from './commands/make-tiny.ts';
import { registerRun } from './commands/run.ts';
import { UsageError } from './usage-error.ts';

/** The `dsv3c` command line. Returns the process exit status; never throws for user errors. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('dsv3c')
    .description('Compile DeepSeek-V3 family models (DeepseekV3ForCausalLM) to fused GPU kernels, and run them.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run dsv3c --help for usage)');
  registerCompile(program);
  registerInspect(program);
  registerMakeTiny(program);
  registerCheck(program);
  registerRun(program);
  if (argv.length <= 2) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof ConfigError || e instanceof UsageError || isProjectError(e)) {
      process.stderr.write(`dsv3c: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

/** Errors the project raises about user input carry `userFacing = true`; they print without a stack. */
function isProjectError(e: unknown): boolean {
  return e instanceof Error && (e as Error & { userFacing?: boolean }).userFacing === true;
}
