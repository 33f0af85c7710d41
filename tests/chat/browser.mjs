// browser.mjs — the widget end to end in a real browser: Playwright
// (playwright-core) drives Debian's headless Chromium on the demo page that
// helpgated serves. The visitor opens the widget with the keyboard, gives a
// name and an address, writes; the message is delivered, the ticket number
// and the acknowledgement appear. Then the script waits for an agent's
// answer, which tests/integration/chat-browser.sh sends by mail meanwhile,
// and sees it appear in the page; a screenshot is saved.
//
// Prints "ok - …"/"not ok - …" lines; after the acknowledgement it prints
// "# ready-for-agent TICKET" so the shell knows when to answer.
// Environment: HG_PAGE_URL, HG_VISITOR_EMAIL, HG_SCREENSHOT, HG_CHROMIUM, and
// HG_SECOND_ANSWER_SENT: a file the shell creates once the second answer (sent
// while the page is away, after "# offline") is stored.
import { chromium } from 'playwright-core';

const page_url = process.env.HG_PAGE_URL;
const shot = process.env.HG_SCREENSHOT;
const ok = (cond, what, detail) => {
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
  if (!cond && detail !== undefined) console.log(`# ${String(detail).slice(0, 400)}`);
  return cond;
};

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.HG_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  try {
    await page.goto(page_url);
    const launcher = page.getByTestId('launcher');
    await launcher.waitFor({ timeout: 10000 });
    ok(await launcher.isVisible(), 'the demo page shows the chat launcher');
    await launcher.focus();
    await page.keyboard.press('Enter');
    ok(await page.getByTestId('name').isVisible(), 'Enter on the launcher opens the chat');
    ok((await launcher.getAttribute('aria-expanded')) === 'true', 'the launcher says it is expanded (ARIA)');
    await page.getByTestId('name').fill('Carla Visitor');
    await page.getByTestId('email').fill(process.env.HG_VISITOR_EMAIL);
    await page.getByTestId('start').click();
    const input = page.getByTestId('input');
    await input.waitFor({ state: 'visible', timeout: 15000 });
    await page.waitForFunction(() => window.HelpgateChat.state().connected, null, { timeout: 15000 });
    ok(true, 'the widget connects and is welcomed');
    await input.fill('Hello, the invoice PDF does not open.');
    await page.keyboard.press('Enter');
    const delivered = await page.waitForFunction(
      () => window.HelpgateChat.state().messages.some((m) => m.from === 'visitor' && m.status === 'delivered'),
      null, { timeout: 15000 }).then(() => true, () => false);
    ok(delivered, 'the message is delivered (acked by the server)');
    const ticket = await page.waitForFunction(() => window.HelpgateChat.state().ticket, null, { timeout: 15000 })
      .then((h) => h.jsonValue(), () => null);
    ok(Number.isInteger(ticket), 'the ticket number is shown', ticket);
    ok((await page.getByTestId('ticket').textContent()).includes(String(ticket)), 'the page names the ticket');
    const acked = await page.waitForFunction(
      (t) => window.HelpgateChat.state().messages.some((m) => m.from === 'system' && m.text.includes(String(t))),
      ticket, { timeout: 15000 }).then(() => true, () => false);
    ok(acked, 'the acknowledgement appears in the chat');
    console.log(`# ready-for-agent ${ticket}`);
    const answered = await page.waitForFunction(
      () => window.HelpgateChat.state().messages.some((m) => m.from === 'agent' && m.text.includes('new PDF reader')),
      null, { timeout: 120000 }).then(() => true, () => false);
    ok(answered, "the agent's answer by mail appears in the chat");
    const shown = await page.getByTestId('log').textContent();
    ok(shown.includes('new PDF reader') && !shown.includes('wrote:'), 'without the quoted history', shown);
    await page.screenshot({ path: shot });
    ok(true, `screenshot saved (${shot})`);

    // The visitor leaves; a second answer comes while nobody is online; back on the page, the
    // widget resumes and the history holds it (the shell checks that it also went by mail).
    await page.goto('about:blank');
    console.log('# offline');
    const marker = process.env.HG_SECOND_ANSWER_SENT;
    const { existsSync } = await import('node:fs');
    for (let i = 0; i < 1200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 100));
    await page.goto(page_url);
    const resumed = await page.waitForFunction(
      () => window.HelpgateChat.state().messages.some((m) => m.from === 'agent' && m.text.includes('second answer')),
      null, { timeout: 30000 }).then(() => true, () => false);
    ok(resumed, 'back on the page, the widget resumes and shows the answer given while away');
    const again = await page.evaluate(() => window.HelpgateChat.state());
    ok(again.ticket === ticket, 'the same ticket', again.ticket);
    ok(again.messages.filter((m) => m.text.includes('invoice PDF')).length === 1, 'the history has no duplicates');
    ok(consoleErrors.length === 0, 'no errors in the browser console', consoleErrors.join(' | '));
  } catch (e) {
    ok(false, `the browser test crashed: ${e && e.message}`);
    await page.screenshot({ path: shot }).catch(() => {});
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (e) => { console.log(`not ok - ${e && e.stack}`); process.exit(1); });
