// Drives Debian's Chromium through the token pages.
// Usage: node tokens.mjs <base-url> <admin> <person> <password> <screenshot-dir>
// 1. The admin creates a service token, sees it once (and copies it), opens
//    its audit trail and revokes it with a reason.
// 2. The person generates a PAT from the settings page through the consent
//    screen, sees it once, and revokes it after confirming.
// Prints one JSON line: {serviceToken, copied, personalToken, ...}.
import { chromium } from 'playwright-core';

const [base, admin, person, password, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function signIn(page, path, user) {
  await page.goto(base + path);
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => u.pathname === path), page.click('button[type=submit]')]);
}

const result = {};
try {
  // The admin.
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await adminContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const a = await adminContext.newPage();
  await signIn(a, '/admin/access-tokens', admin);
  await a.click('text=Create service token');
  await a.fill('#name', 'deploy-bot');
  await a.fill('#owner', 'platform');
  await a.fill('#description', 'Deploys main from CI');
  await a.check('input[name=scope][value=read]');
  await a.fill('#cidrs', '127.0.0.0/8');
  await Promise.all([a.waitForSelector('#secret'), a.click('button.primary')]);
  result.serviceToken = await a.inputValue('#secret');
  result.warned = (await a.textContent('.warning')).includes('never show it again');
  await a.click('button[data-copy]');
  await a.waitForSelector('button[data-copy]:has-text("Copied")');
  result.copied = (await a.evaluate(() => navigator.clipboard.readText())) === result.serviceToken;
  await a.screenshot({ path: `${outDir}/admin-new-token.png`, fullPage: true });
  await a.click('text=Done, I have copied it');
  await a.waitForSelector('h2:has-text("Audit trail")');
  result.auditShown = (await a.locator('table.audit tbody tr').count()) >= 1;
  await a.fill('#reason', 'rotating the deploy key');
  await Promise.all([a.waitForURL(/done=revoked/), a.click('form.revoke button')]);
  result.adminSawRevoked = (await a.textContent('h1 .status')) === 'revoked';
  await a.screenshot({ path: `${outDir}/admin-token-detail.png`, fullPage: true });
  await a.goto(base + '/admin/access-tokens');
  await a.screenshot({ path: `${outDir}/admin-access-tokens.png`, fullPage: true });

  // The person.
  const personContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await personContext.newPage();
  await signIn(p, '/settings/personal-tokens', person);
  await p.click('text=Generate new token');
  await p.waitForSelector('h1:has-text("Create personal access token")');
  await p.fill('#token_name', 'laptop');
  await Promise.all([p.waitForSelector('#secret'), p.click('button[value=approve]')]);
  result.personalToken = await p.inputValue('#secret');
  await p.screenshot({ path: `${outDir}/settings-new-token.png`, fullPage: true });
  await p.click('text=Done, I have copied it');
  await p.waitForSelector('table.tokens');
  await p.screenshot({ path: `${outDir}/settings-personal-tokens.png`, fullPage: true });
  await p.click('tr:has-text("laptop") >> a.danger:text-is("Revoke")');
  await p.waitForSelector('h1:has-text("Revoke “laptop”?")');
  await Promise.all([p.waitForURL(/done=revoked/), p.click('button:has-text("Revoke token")')]);
  result.personSawRevoked = (await p.textContent('tr:has-text("laptop") .status')) === 'revoked';
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
