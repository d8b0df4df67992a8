// The server sends `Content-Security-Policy: script-src 'self'; style-src 'self'` (no
// 'unsafe-inline'): the page template must load its script and styles from files only, or the
// app would not start in a browser (server/api/src/lib.rs::content_security_policy).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const html = readFileSync(resolve(__dirname, '../index.html'), 'utf8');

describe('index.html under the CSP', () => {
  it('has no inline script, inline style or event-handler attribute', () => {
    const doc = new DOMParser().parseFromString(html, 'text/html');
    const scripts = [...doc.querySelectorAll('script')];
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s.getAttribute('src'), s.outerHTML).toBeTruthy();
      expect(s.textContent?.trim(), s.outerHTML).toBe('');
    }
    expect(doc.querySelectorAll('style').length).toBe(0);
    for (const el of doc.querySelectorAll('*')) {
      expect(el.hasAttribute('style'), el.outerHTML).toBe(false);
      for (const a of el.getAttributeNames()) expect(a.startsWith('on'), `${a} on ${el.tagName}`).toBe(false);
    }
  });
});
