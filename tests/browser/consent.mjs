// Drives Debian's Chromium through sign-in and the consent screen.
// Usage: node consent.mjs <authorize-url> <user> <password> <screenshot-dir>
// Prints the URL the browser ends on (the client's redirect URI with ?code&state).
import { chromium } from 'playwright-core';

const [authorizeUrl, user, password, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 860 } });
  await page.goto(authorizeUrl);
  await page.waitForSelector('input[name=username]');
  await page.screenshot({ path: `${outDir}/sign-in.png`, fullPage: true });
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(/\/oauth2\/authorize\//), page.click('button[type=submit]')]);
  await page.waitForSelector('h1:has-text("Create personal access token")');
  await page.fill('#token_name', 'laptop (browser test)');
  await page.screenshot({ path: `${outDir}/consent.png`, fullPage: true });
  await Promise.all([page.waitForURL(/[?&]code=/), page.click('button[value=approve]')]);
  console.log(page.url());
} finally {
  await browser.close();
}
