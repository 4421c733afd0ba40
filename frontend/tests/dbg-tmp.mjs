import { launchBrowser, newPage, startStaticServer, waitForState } from './helpers.mjs';
import { MockChat } from './mock-server.mjs';
const web = await startStaticServer();
const browser = await launchBrowser();
const page = await newPage(browser, { width: 360, height: 740 });
const mock = await new MockChat().install(page);
await page.goto(`${web.baseUrl}/?room=lobby`);
await waitForState(page, 'connected');
await page.focus('[data-testid="panel-toggle"]');
await page.keyboard.press('Enter');
for (const t of [0, 200, 500, 1000]) {
  await new Promise(r => setTimeout(r, t));
  console.log(t, await page.$eval('#side-panel', n => [n.className, getComputedStyle(n).transform, getComputedStyle(n).visibility, getComputedStyle(n).transition, JSON.stringify(n.getBoundingClientRect())]));
}
console.log(page.problems);
await browser.close(); await web.close();
