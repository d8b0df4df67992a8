// Lab smoke: both browsers load the app from 127.0.0.1 inside the namespace and sign in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, newTenant, openApp, screenshot } from './lab.mjs';

for (const kind of ['chromium', 'firefox']) {
  describe(`${kind}: the app`, () => {
    let browser;
    let tenant;
    before(async () => {
      tenant = await newTenant();
      browser = await launch(kind, 1000);
    });
    after(async () => browser?.close());

    it('loads and signs in', async () => {
      const { page } = await openApp(browser, tenant.account, 'boss', tenant.password);
      const name = await page.$eval('.topbar__tenant', (e) => e.textContent);
      assert.equal(name, `Lab ${tenant.account}`);
      if (kind === 'chromium') await screenshot(page, 'e2e-signed-in');
    });
  });
}
