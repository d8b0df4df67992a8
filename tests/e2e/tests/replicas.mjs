// The lab's services that tests stop and start (tests/e2e/lab.sh): the two server replicas behind
// HAProxy (HAProxy's runtime API, their pids, who holds the Stasis lease), the lab's PostgreSQL and
// its Redis. Shared by replicas.test.mjs, takeover.test.mjs and outage.test.mjs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { env, until } from './lab.mjs';

const STACK_DIR = env('CALLBASE_E2E_STACK_DIR');
const LAB_SH = new URL('../lab.sh', import.meta.url).pathname;

/** One command on HAProxy's runtime API (the lab's admin socket). */
export function haproxy(cmd) {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(`${STACK_DIR}/haproxy.sock`);
    let out = '';
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.write(`${cmd}\n`);
  });
}

/** A column of a replica's row in HAProxy's `show stat` (`scur`: current sessions, `status`). */
export async function stat(server, column) {
  const csv = await haproxy('show stat');
  const head = csv.split('\n')[0].replace(/^# /, '').split(',');
  const row = csv.split('\n').map((l) => l.split(',')).find((r) => r[0] === 'replicas' && r[1] === server);
  return row[head.indexOf(column)];
}
export const sessions = async (server) => Number(await stat(server, 'scur'));

export const replicaPid = (n) => Number(readFileSync(`${STACK_DIR}/app-r${n}.pid`, 'utf8').trim());
export const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const labSh = (...args) => execFileSync('bash', [LAB_SH, ...args], { env: { ...process.env, APP_BIN: env('CALLBASE_E2E_APP_BIN') }, stdio: 'inherit' });
export const replicaDown = (n) => labSh('replica', String(n), 'down');
export const replicaUp = (n) => labSh('replica', String(n), 'up');
/** Stops (fast shutdown: sessions cut) or starts the lab's own PostgreSQL. */
export const postgres = (what) => labSh('pg', what);
/** Kills (-9) or starts the lab's Redis (append-only file: sessions outlive it). */
export const redis = (what) => labSh('redis', what);

/** The pid in the Stasis lease holder's name (`callbase status`: "stasis held by host:pid:rand"). */
export function stasisHolderPid() {
  const out = execFileSync(env('CALLBASE_E2E_APP_BIN'), ['status'], { encoding: 'utf8' });
  const m = out.match(/stasis\s+held by [^:\s]+:(\d+):/);
  assert.ok(m, `callbase status names the Stasis holder:\n${out}`);
  return Number(m[1]);
}


/**
 * Back to the lab's layout, where replica 1 holds the Stasis lease and gets the sockets: after an
 * outage the lease may have gone to replica 2, which is then restarted.
 */
export async function leasesOnReplica1() {
  await until('a replica holds the Stasis lease', async () => stasisHolderPid() > 0, 15000, 250);
  if (stasisHolderPid() === replicaPid(1)) return;
  replicaDown(2);
  await until('replica 1 holds the Stasis lease', async () => stasisHolderPid() === replicaPid(1), 10000, 250);
  replicaUp(2);
}
