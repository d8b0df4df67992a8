// Asterisk Manager Interface clients of the lab: the carrier's and the platform's.
import net from 'node:net';
import { env } from './base.mjs';

/** A minimal AMI client: actions with responses, and every event to listeners. */
export class Ami {
  static async connect(addr, user, secret) {
    const [host, port] = addr.split(':');
    const a = new Ami();
    a.sock = net.connect(Number(port), host);
    a.buf = '';
    a.listeners = new Set();
    a.pending = new Map();
    a.seq = 0;
    a.sock.setEncoding('utf8');
    a.sock.on('data', (d) => {
      a.buf += d;
      let i;
      while ((i = a.buf.indexOf('\r\n\r\n')) >= 0) {
        const block = a.buf.slice(0, i);
        a.buf = a.buf.slice(i + 4);
        const msg = {};
        for (const line of block.split('\r\n')) {
          const j = line.indexOf(':');
          if (j > 0) msg[line.slice(0, j).trim()] = line.slice(j + 1).trim();
        }
        msg.at = Date.now();
        if (msg.ActionID && a.pending.has(msg.ActionID) && msg.Response) {
          a.pending.get(msg.ActionID)(msg);
          a.pending.delete(msg.ActionID);
        }
        if (msg.Event) for (const l of a.listeners) l(msg);
      }
    });
    await new Promise((r, j) => {
      a.sock.once('connect', r);
      a.sock.once('error', j);
    });
    const login = await a.action('Login', { Username: user, Secret: secret });
    if (login.Response !== 'Success') throw new Error(`AMI login to ${addr} failed`);
    return a;
  }
  action(name, headers = {}) {
    const id = `a${++this.seq}`;
    const lines = [`Action: ${name}`, `ActionID: ${id}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.sock.write(lines.join('\r\n') + '\r\n\r\n');
    return new Promise((r) => this.pending.set(id, r));
  }
  /** The first event matching `pred` within `ms`. */
  waitEvent(pred, ms = 15000) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`no matching AMI event within ${ms} ms`));
      }, ms);
      const l = (m) => {
        if (pred(m)) {
          clearTimeout(t);
          this.listeners.delete(l);
          resolve(m);
        }
      };
      this.listeners.add(l);
    });
  }
  /** The events of a list action (e.g. PJSIPShowContacts) up to its `…Complete` event. */
  list(name, headers = {}, ms = 10000) {
    const id = `l${++this.seq}`;
    const out = [];
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`AMI ${name}: no complete list within ${ms} ms`));
      }, ms);
      const l = (m) => {
        if (m.ActionID !== id) return;
        if (m.EventList === 'Complete' || m.Event?.endsWith('Complete')) {
          clearTimeout(t);
          this.listeners.delete(l);
          resolve(out);
        } else out.push(m);
      };
      this.listeners.add(l);
      const lines = [`Action: ${name}`, `ActionID: ${id}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      this.sock.write(lines.join('\r\n') + '\r\n\r\n');
    });
  }
  /** Collects events matching `pred` from now on. */
  collect(pred) {
    const out = [];
    const l = (m) => pred(m) && out.push(m);
    this.listeners.add(l);
    return { events: out, stop: () => this.listeners.delete(l) };
  }
  close() {
    this.sock.destroy();
  }
}

export const carrierAmi = () =>
  Ami.connect(env('CALLBASE_CARRIER_AMI_ADDR'), env('CALLBASE_CARRIER_AMI_USER'), env('CALLBASE_CARRIER_AMI_SECRET'));
export const platformAmi = () =>
  Ami.connect(env('CALLBASE__ASTERISK__AMI_ADDR'), env('CALLBASE__ASTERISK__AMI_USER'), env('CALLBASE__ASTERISK__AMI_SECRET'));
