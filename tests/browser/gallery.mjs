// Screenshots of the pages people see, at 1280 px and 390 px (a phone),
// light and dark, and what they show about layout.
// Usage: node gallery.mjs <base-url> <admin> <person> <password> <service-token-id> <screenshot-dir>
// Prints one JSON line: {shots: [{name, width, scheme, overflow, background}]}
// where `overflow` is how many CSS pixels the page is wider than the window
// (0: nothing sticks out; wide tables scroll inside themselves) and
// `background` the body's computed background colour.
import { chromium } from 'playwright-core';

const [base, admin, person, password, serviceId, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function signedIn(options, user) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(base + '/login?next=/');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
  return { context, page };
}

async function shoot(page, name, width, scheme, shots) {
  await page.waitForLoadState('load');
  const measured = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    background: getComputedStyle(document.body).backgroundColor,
  }));
  await page.screenshot({ path: `${outDir}/${name}-${width}-${scheme}.png`, fullPage: true });
  shots.push({ name, width, scheme, ...measured });
}

const shots = [];
try {
  for (const width of [1280, 390]) {
    for (const scheme of ['light', 'dark']) {
      const options = { viewport: { width, height: width > 600 ? 800 : 844 }, colorScheme: scheme };
      const a = await signedIn(options, admin);
      await a.page.goto(base + '/admin/access-tokens');
      await shoot(a.page, 'admin-access-tokens', width, scheme, shots);
      await a.page.goto(`${base}/admin/access-tokens/${serviceId}`);
      await shoot(a.page, 'admin-token-detail', width, scheme, shots);
      await a.context.close();

      const p = await signedIn(options, person);
      await p.page.goto(base + '/settings/personal-tokens');
      await shoot(p.page, 'settings-personal-tokens', width, scheme, shots);
      await p.page.goto(base + '/settings/personal-tokens/new');
      await p.page.waitForSelector('h1:has-text("Create personal access token")');
      await shoot(p.page, 'consent', width, scheme, shots);
      await p.page.goto(base + '/admin/access-tokens');
      await shoot(p.page, 'error-403', width, scheme, shots);
      await p.page.goto(base + '/no/such/page');
      await shoot(p.page, 'error-404', width, scheme, shots);
      await p.context.close();
    }
  }
  console.log(JSON.stringify({ shots }));
} finally {
  await browser.close();
}
