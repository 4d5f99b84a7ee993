import { Command, CommanderError } from 'commander';
import { createRuntime } from '../composition';
import { ConfigError, loadConfig, type Config } from '../config/env';
import { adminSocketPath, embeddedOwner } from '../adapters/postgres/embedded-lock';
import { createDatabase } from '../adapters/postgres/database';
import { migrate } from '../adapters/postgres/migrator';
import { isAppError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { sendAdminCommand } from './admin-socket';
import { runCommand, type CommandName, type CommandResult } from './commands';
import { collectFiles, MissingPathError } from './knowledge-files';
import { terminalProgress, type Progress } from './progress';
import path from 'node:path';

/**
 * `npm run cli -- <command> [options] [--json]`. With a server database (DATABASE_URL) commands
 * run here; with the embedded database they run here when no gateway is up, and inside the
 * running gateway (through its admin socket) when one is.
 */
class CliFailure extends Error {}
/** The command ran and printed its result, but part of it failed. */
class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

async function execute(
  config: Config,
  name: CommandName,
  options: Record<string, unknown>,
  json: boolean,
  progress?: Progress,
): Promise<void> {
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  let result: CommandResult;
  const owner = config.databaseUrl ? undefined : embeddedOwner(config.dataDir);
  if (owner !== undefined) {
    if (progress) process.stderr.write(`Working through the running gateway (pid ${owner}); results follow when it is done.\n`);
    const reply = await sendAdminCommand(adminSocketPath(config.dataDir), name, options).catch(() => {
      throw new CliFailure(
        `The gateway (pid ${owner}) holds the embedded database in ${config.dataDir} but its admin socket does not answer.`,
      );
    });
    if (reply.status !== 200) {
      throw new CliFailure((reply.body as { error?: { message?: string } }).error?.message ?? 'the command failed');
    }
    result = reply.body as typeof result;
    // No progress could be shown from inside the gateway: say how each item went now.
    if (progress && result.details?.length) process.stderr.write(`${result.details.join('\n')}\n`);
  } else {
    const runtime = await createRuntime(config, logger, { redis: false, http: false, workers: false });
    try {
      result = await runCommand(runtime.services, name, options, progress);
    } finally {
      await runtime.close();
    }
  }
  process.stdout.write(`${json ? JSON.stringify(result.json, null, 2) : result.text}\n`);
  if (result.exitCode) throw new CliExit(result.exitCode);
}

/** Files are read here, never by a gateway: it may run elsewhere, with another working directory. */
async function knowledgeImport(config: Config, paths: string[], opts: Record<string, unknown>, json: boolean): Promise<void> {
  let files: ReturnType<typeof collectFiles>;
  try {
    files = collectFiles(paths);
  } catch (e) {
    throw e instanceof MissingPathError ? new CliFailure(`Error: ${e.message}`) : e;
  }
  await execute(config, 'knowledge:import', { ...opts, ...files }, json, terminalProgress());
}

async function dbMigrate(config: Config): Promise<void> {
  const db = await createDatabase({ url: config.databaseUrl, dataDir: path.join(config.dataDir, 'pglite') });
  try {
    const r = await migrate(db.pool);
    process.stdout.write(r.applied.length ? `Applied: ${r.applied.join(', ')}\n` : 'The database is up to date.\n');
    if (r.changed.length) process.stderr.write(`Warning: applied migrations changed since: ${r.changed.join(', ')}\n`);
  } finally {
    await db.close();
  }
}

export function buildProgram(config: () => Config): Command {
  const program = new Command('cli')
    .description('Administer the WhatsApp agent gateway')
    .option('--json', 'print the result as JSON')
    .exitOverride()
    .showHelpAfterError();
  const run = (name: CommandName) => async (opts: Record<string, unknown>) => {
    await execute(config(), name, opts, Boolean(program.opts().json));
  };

  program.command('workspace:create').requiredOption('--name <name>', 'workspace name').action(run('workspace:create'));
  program.command('workspace:list').action(run('workspace:list'));
  program
    .command('number:add')
    .description('connect a WhatsApp business number (Meta Cloud API)')
    .requiredOption('--workspace <id>', 'workspace id (ws_...)')
    .requiredOption('--phone-number-id <id>', "Meta's phone_number_id")
    .requiredOption('--waba-id <id>', 'WhatsApp Business Account id')
    .option('--display-number <number>', 'the number as customers see it')
    .requiredOption('--access-token <token>', 'system-user access token')
    .requiredOption('--app-secret <secret>', "the Meta app's secret (verifies webhook signatures)")
    .requiredOption('--verify-token <token>', 'the webhook verify token you set in the App Dashboard')
    .option('--mps <n>', 'messages per second the number may send', '80')
    .option('--sandbox', 'talk to the built-in Cloud API simulator instead of Meta', false)
    .action(run('number:add'));
  program.command('number:list').option('--workspace <id>').action(run('number:list'));
  program
    .command('key:create')
    .requiredOption('--workspace <id>', 'workspace id (ws_...)')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--scopes <list>', 'comma-separated scopes')
    .option('--test', 'a gw_test_ key (never reaches Meta)', false)
    .action(run('key:create'));
  program.command('key:list').option('--workspace <id>').action(run('key:list'));
  program.command('key:revoke').requiredOption('--id <id>', 'key id (key_...)').action(run('key:revoke'));
  program
    .command('knowledge:import')
    .description('import .md, .markdown, .txt, .html and .htm files (folders recursively) as knowledge documents')
    .argument('<paths...>', 'files and folders')
    .option('--workspace <id>', 'workspace id (ws_...); default: the only workspace')
    .option('--tags <list>', 'comma-separated tags for the imported documents')
    .action(async (paths: string[], opts: Record<string, unknown>) =>
      knowledgeImport(config(), paths, opts, Boolean(program.opts().json)),
    );
  program
    .command('knowledge:reindex')
    .description('re-embed the knowledge documents now (e.g. after changing EMBEDDING_MODEL)')
    .option('--workspace <id>', 'only this workspace (default: all)')
    .option('--only-other-model', 'only documents embedded with another model than the current one', false)
    .action(async (opts: Record<string, unknown>) =>
      execute(config(), 'knowledge:reindex', opts, Boolean(program.opts().json), terminalProgress()),
    );
  program.command('db:migrate').description('apply pending migrations').action(async () => dbMigrate(config()));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let cached: Config | undefined;
  const config = () => (cached ??= loadConfig());
  try {
    await buildProgram(config).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof CliExit) return e.code;
    if (e instanceof ConfigError || e instanceof CliFailure) process.stderr.write(`${e.message}\n`);
    else if (isAppError(e)) process.stderr.write(`Error: ${e.message}\n`);
    else process.stderr.write(`Error: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
