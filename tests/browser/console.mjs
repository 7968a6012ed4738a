// Ferry's web console in headless Chromium (Debian's /usr/bin/chromium through playwright-core; no
// browser is downloaded). Run by crates/ferry/tests/console.rs, which starts real clusters, real
// Java clients and the real `ferry serve`, and passes where they are in the environment:
//
//   FERRY_URL, FERRY_TOKEN                    the console and the token the first start printed
//   FERRY_NAMESRV                             Ferry's NameServer address for clients
//   FERRY_SOURCE_NAMESRV/_CLUSTER, FERRY_TARGET_NAMESRV/_CLUSTER
//   FERRY_DOCUMENT, FERRY_BAD_WORKBOOK        a metadata document, a workbook with bad cells
//   FERRY_ARTIFACTS                           where screenshots go (one or more per step)
//   FERRY_CHROMIUM                            the browser (default /usr/bin/chromium)
//
// It logs in, runs a metadata import from a file, and walks one topic through the five steps of a
// seamless migration by clicking, asserting what each page shows. When the operator must change
// the clients (step 3), it prints `@@ferry switch-clients` and waits for `@@ok switch-clients` on
// stdin. Exit status 0 when every assertion held.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set (run through crates/ferry/tests/console.rs)`);
  return v;
};
const URL = env('FERRY_URL');
const TOKEN = env('FERRY_TOKEN');
const FERRY_NAMESRV = env('FERRY_NAMESRV');
const SOURCE = { namesrv: env('FERRY_SOURCE_NAMESRV'), cluster: env('FERRY_SOURCE_CLUSTER') };
const TARGET = { namesrv: env('FERRY_TARGET_NAMESRV'), cluster: env('FERRY_TARGET_CLUSTER') };
const DOCUMENT = env('FERRY_DOCUMENT');
const BAD_WORKBOOK = env('FERRY_BAD_WORKBOOK');
const ARTIFACTS = env('FERRY_ARTIFACTS');
const CHROMIUM = env('FERRY_CHROMIUM', '/usr/bin/chromium');
const TIMEOUT_MS = Number(env('FERRY_TIMEOUT_MS', String(20 * 60 * 1000)));

const TOPIC = 'web-orders';
const GROUP = 'web-billing';
const ACTOR = 'browser-test';
const IGNORE_REASON = 'browser test: taking this step with the checks ignored, on purpose';

setTimeout(() => {
  console.error(`the browser test did not finish within ${TIMEOUT_MS} ms`);
  process.exit(2);
}, TIMEOUT_MS).unref();

// ------------------------------------------------------------------------------------------------
// Talking to the driver
// ------------------------------------------------------------------------------------------------

const stdin = createInterface({ input: process.stdin });
const replies = [];
let waiting = null;
stdin.on('line', (line) => {
  if (waiting) {
    const w = waiting;
    waiting = null;
    w(line);
  } else replies.push(line);
});

/** Asks the driver to act (as the operator would, outside the console) and waits for it. */
async function ask(what) {
  console.log(`@@ferry ${what}`);
  const line = replies.length ? replies.shift() : await new Promise((resolve) => (waiting = resolve));
  assert.equal(line, `@@ok ${what}`, `the driver answered ${line}`);
}

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

let shotNumber = 0;
let page;

async function shot(name) {
  shotNumber += 1;
  const path = join(ARTIFACTS, `${String(shotNumber).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot ${path}`);
}

/** Waits until the element's text matches `pattern` (a string it must contain, or a RegExp). */
async function expectText(locator, pattern, timeout = 30000) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    try {
      last = (await locator.textContent({ timeout: Math.max(1000, deadline - Date.now()) })) ?? '';
    } catch (e) {
      last = `(not found: ${e.message.split('\n')[0]})`;
    }
    const ok = typeof pattern === 'string' ? last.includes(pattern) : pattern.test(last);
    if (ok) return last;
    if (Date.now() > deadline) {
      throw new Error(`expected ${pattern} in ${locator}, found: ${JSON.stringify(last)}`);
    }
    await page.waitForTimeout(250);
  }
}

async function expectEnabled(locator, timeout = 30000) {
  const deadline = Date.now() + timeout;
  while (await locator.isDisabled()) {
    if (Date.now() > deadline) throw new Error(`${locator} stayed disabled`);
    await page.waitForTimeout(250);
  }
}

async function expectGone(locator, timeout = 30000) {
  await locator.waitFor({ state: 'detached', timeout });
}

const byTestId = (id) => page.getByTestId(id);

async function step(name, fn) {
  const started = Date.now();
  console.log(`-- ${name}`);
  try {
    await fn();
  } catch (e) {
    await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
    throw e;
  }
  console.log(`   ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

// ------------------------------------------------------------------------------------------------
// The walk
// ------------------------------------------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
page = await context.newPage();
const pageErrors = [];
const foreign = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('request', (r) => {
  const url = r.url();
  if (!url.startsWith(URL) && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
});

let migrationId = null;

try {
  await step('log in', async () => {
    await page.goto(URL);
    await page.getByRole('heading', { name: 'Log in to Ferry' }).waitFor();
    assert.equal(await byTestId('token').getAttribute('type'), 'password', 'the token is typed into a password field');
    await byTestId('token').fill('not-the-token-0123456789');
    await byTestId('login').click();
    await expectText(byTestId('login-error'), 'Wrong API token.');
    await shot('login-refused');
    await byTestId('token').fill(TOKEN);
    await byTestId('actor').fill(ACTOR);
    await byTestId('login').click();
    await page.getByRole('heading', { name: 'Migration tasks' }).waitFor();
    await expectText(byTestId('migrations'), 'No seamless migration yet.');
    await expectText(byTestId('tasks'), 'No import task yet.');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'ferry_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict', `session cookie: ${JSON.stringify(session)}`);
    await shot('migration-tasks-empty');
  });

  await step('metadata import: a bad workbook is refused with every bad cell named', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'New metadata import' }).click();
    await page.getByRole('heading', { name: 'New metadata import' }).waitFor();
    await byTestId('target-namesrv').fill(TARGET.namesrv);
    await byTestId('target-cluster').fill(TARGET.cluster);
    for (const [id, file] of [['template-4', 'ferry-template-4.x.xlsx'], ['template-5', 'ferry-template-5.x.xlsx']]) {
      const [download] = await Promise.all([page.waitForEvent('download'), byTestId(id).click()]);
      assert.equal(download.suggestedFilename(), file);
      const bytes = await readFile(await download.path());
      assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\u0003\u0004', `${file} is an .xlsx workbook`);
    }
    await byTestId('file').setInputFiles(BAD_WORKBOOK);
    const problems = await expectText(byTestId('file-problems'), '2 problems in topics-with-errors.xlsx');
    assert.match(problems, /Topics!B3\s*read queues "abc" is not a whole number/);
    assert.match(problems, /Topics!D4\s*order "maybe" is not TRUE or FALSE/);
    assert.ok(await byTestId('create-import').isDisabled(), 'nothing can be imported from a refused file');
    await shot('import-bad-workbook');
  });

  await step('metadata import: a document previewed, chosen and imported as a task', async () => {
    await byTestId('file').setInputFiles(DOCUMENT);
    await expectText(byTestId('preview-summary'), 'metadata.json: 4 topics, 1 groups, 0 accounts.');
    await expectText(byTestId('row-topics-imp-a'), 'Will be created');
    const conflict = await expectText(byTestId('row-topics-imp-conflict'), 'Will fail');
    assert.match(conflict, /8/, `the conflict shows the target's queue numbers: ${conflict}`);
    await expectText(byTestId('row-topics-imp-b'), '8/8, ordered');
    await byTestId('search-topics').fill('conflict');
    await expectGone(byTestId('row-topics-imp-a'));
    await byTestId('search-topics').fill('');
    await byTestId('row-topics-imp-a').waitFor();
    // Choose the failing one too (to see its failure on the task), leave imp-c out.
    await byTestId('row-topics-imp-conflict').getByRole('checkbox').check();
    await byTestId('row-topics-imp-c').getByRole('checkbox').uncheck();
    await expectText(byTestId('create-import'), 'Create the import task (4 items)');
    await shot('import-preview-topics');
    await byTestId('tab-groups').click();
    await expectText(byTestId('row-groups-imp-g'), 'Will be created');
    await byTestId('tab-accounts').click();
    await expectText(byTestId('items-accounts'), 'The file has none.');
    await byTestId('tab-topics').click();
    await byTestId('create-import').click();
    await page.waitForURL(/#\/tasks\/\d+$/);
    await expectText(byTestId('task-status'), 'Some failed', 60000);
    await expectText(byTestId('item-topic-imp-a'), 'Created');
    await expectText(byTestId('item-topic-imp-b'), 'Created');
    await expectText(byTestId('item-group-imp-g'), 'Created');
    const failed = await expectText(byTestId('item-topic-imp-conflict'), 'Failed');
    assert.match(failed, /8/, `the failure's cause: ${failed}`);
    assert.equal(await byTestId('item-topic-imp-c').count(), 0, 'imp-c was not chosen');
    await expectText(byTestId('task-summary'), 'metadata.json');
    await shot('import-task-items');
    await byTestId('item-status-filter').selectOption('failed');
    await expectGone(byTestId('item-topic-imp-a'));
    await byTestId('item-topic-imp-conflict').waitFor();
    await shot('import-task-failed-items');
  });

  await step('migration tasks: the import listed, filtered by status', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Migration tasks' }).click();
    const row = await expectText(byTestId('tasks').locator('tr[data-testid^="task-"]').first(), 'Some failed');
    assert.match(row, /2\/3 \(1 failed\)/, `topic counts: ${row}`);
    assert.match(row, /metadata\.json/);
    await byTestId('task-status-filter').selectOption('succeeded');
    await expectText(byTestId('tasks'), 'No import task yet.');
    await byTestId('task-status-filter').selectOption('someFailed');
    await expectText(byTestId('tasks'), 'Some failed');
    await shot('migration-tasks-with-import');
  });

  await step('step 1: connect, an unreachable source said in words, then connected', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Seamless migration' }).click();
    const bar = await expectText(byTestId('step-bar'), 'Connect to the source');
    for (const title of ['Metadata import', 'Access point', 'Topic migration', 'Complete']) assert.ok(bar.includes(title), bar);
    await byTestId('migration-name-input').fill('browser walk');
    await byTestId('source-namesrv').fill('127.0.0.1:1');
    await byTestId('source-cluster').fill(SOURCE.cluster);
    await byTestId('source-acl').check();
    assert.equal(await byTestId('source-secret-key').getAttribute('type'), 'password');
    await byTestId('source-acl').uncheck();
    await byTestId('target-namesrv').fill(TARGET.namesrv);
    await byTestId('target-cluster').fill(TARGET.cluster);
    await byTestId('connect').click();
    await expectText(byTestId('connect-error'), /source cluster: 127\.0\.0\.1:1: unreachable/);
    await shot('step1-source-unreachable');
    await byTestId('source-namesrv').fill(SOURCE.namesrv);
    await byTestId('connect').click();
    await page.waitForURL(/#\/migrations\/\d+\/2$/, { timeout: 60000 });
    migrationId = page.url().match(/migrations\/(\d+)\//)[1];
    await expectText(byTestId('migration-name'), 'browser walk');
    await byTestId('step-bar').locator('[data-testid="step-1"]').getByText('✓').waitFor();
  });

  await step('step 2: the source scanned live, a topic confirmed, one added by hand and removed', async () => {
    await expectText(byTestId('source-summary'), /\d+ topics and \d+ groups on /, 60000);
    await expectText(byTestId(`status-${TOPIC}`), 'To be imported after confirmation');
    await expectText(byTestId('topic-web-bulk'), 'read queues fitted from 20 to 16');
    await expectText(byTestId('topic-web-bulk'), 'write queues fitted from 20 to 16');
    // The consumer group shows once it has committed offsets on the source: refresh until then.
    const deadline = Date.now() + 90000;
    while (!(await byTestId(`topic-${TOPIC}`).textContent()).includes(GROUP)) {
      assert.ok(Date.now() < deadline, `${GROUP} never seen consuming ${TOPIC}`);
      await page.waitForTimeout(2000);
      await byTestId('refresh').click();
      await expectText(byTestId('source-summary'), /\d+ topics/);
    }
    await byTestId('search').fill('web-o');
    await expectGone(byTestId('topic-web-bulk'));
    await byTestId('search').fill('');
    await byTestId('tab-groups').click();
    await expectText(byTestId(`group-${GROUP}`), 'To be imported after confirmation');
    await byTestId('tab-topics').click();
    await shot('step2-source-scanned');

    await byTestId(`topic-${TOPIC}`).getByRole('checkbox').check();
    await expectText(byTestId('confirm'), 'Confirm the import (1)');
    await byTestId('confirm').click();
    await expectText(byTestId('confirm-result'), `Added to the migration at Initial: ${TOPIC}`, 90000);
    await expectText(byTestId(`status-${TOPIC}`), 'Imported');
    await expectText(byTestId(`topic-${TOPIC}`), 'Initial');

    await byTestId('manual-topic').fill('web-refunds');
    await byTestId('add-by-hand').click();
    await expectText(byTestId('confirm-result'), 'Added by hand: web-refunds', 90000);
    await expectText(byTestId('topic-web-refunds'), 'Initial');
    await byTestId('topic-web-refunds').getByRole('button', { name: 'Remove' }).click();
    await expectText(byTestId('topic-web-refunds'), 'not in it');
    await byTestId('tab-groups').click();
    await expectText(byTestId(`status-${GROUP}`), 'Imported');
    await byTestId('tab-topics').click();
    await shot('step2-topic-confirmed');
    await byTestId('next').click();
  });

  await step('step 3: the access point, clients not switched yet', async () => {
    await page.waitForURL(/\/3$/);
    await expectText(byTestId('ferry-namesrv'), FERRY_NAMESRV);
    await expectText(byTestId('switch-summary'), '1 of 1 consumer groups still have clients that do not go through Ferry.');
    const row = await expectText(byTestId(`group-${GROUP}`), 'Not switched');
    assert.match(row, /direct-consumer/, `the direct consumer is named: ${row}`);
    await expectText(byTestId(`clients-${TOPIC}`), 'no client seen through Ferry yet');
    await shot('step3-not-switched');
    await byTestId('next').click();
    const warning = await expectText(byTestId('unswitched-warning'), 'Not every client is switched');
    assert.ok(warning.includes(GROUP), warning);
    await shot('step3-warning-before-moving-on');
    await byTestId('continue-anyway').click();
  });

  await step('step 4: the first step is blocked while a consumer bypasses Ferry', async () => {
    await page.waitForURL(/\/4$/);
    await expectText(byTestId(`stage-${TOPIC}`), 'Initial');
    await expectText(byTestId(`reads-${TOPIC}`), 'source');
    await expectText(byTestId(`writes-${TOPIC}`), 'source');
    await byTestId(`proceed-${TOPIC}`).click();
    const blocked = await expectText(byTestId('step-error'), `${TOPIC}: cannot move from Initial to DualRead`, 60000);
    assert.match(blocked, /clients-through-ferry/);
    assert.match(blocked, /reach the source directly/);
    await expectText(byTestId(`stage-${TOPIC}`), 'Initial');
    await shot('step4-blocked-by-a-direct-consumer');
  });

  await step('step 3 again: the clients switched to Ferry, seen live', async () => {
    await byTestId('step-3').getByRole('link').click();
    await page.waitForURL(/\/3$/);
    await ask('switch-clients');
    await expectText(byTestId('switch-summary'), 'All 1 consumer groups go through Ferry.', 120000);
    const row = await expectText(byTestId(`group-${GROUP}`), /ferry-consumer-1.*ferry-consumer-2.*Switched/);
    assert.ok(!row.includes('direct-consumer'), `the direct consumer is gone: ${row}`);
    await expectText(byTestId('topic-clients'), `consumer (${GROUP})`, 60000);
    const clients = await expectText(byTestId('topic-clients'), 'producer (web-producers)', 60000);
    assert.match(clients, /\d+ s ago/, `last contact: ${clients}`);
    // The monitoring chart marks every step taken since Ferry first sampled the topic's traffic:
    // the walk starts once it has.
    const sampled = async () => {
      const traffic = await page.evaluate(async (id) => (await fetch(`/api/migrations/${id}/traffic`)).json(), migrationId);
      return traffic.topics.some((t) => t.topic === TOPIC && t.samples.length > 0);
    };
    const deadline = Date.now() + 60000;
    while (!(await sampled())) {
      assert.ok(Date.now() < deadline, `no traffic sample of ${TOPIC} within 60 s`);
      await page.waitForTimeout(200);
    }
    await shot('step3-switched');
    await byTestId('next').click();
    await page.waitForURL(/\/4$/);
    assert.equal(await byTestId('unswitched-warning').count(), 0, 'no warning once every client is switched');
  });

  /** Waits until the engine's latest check says the topic may move to `to`. */
  async function ready(to) {
    await expectText(byTestId(`ready-${TOPIC}`), `Ready for ${to}`, 240000);
  }

  async function stageIs(stage, reads, writes) {
    await expectText(byTestId(`stage-${TOPIC}`), new RegExp(`^${stage}$`));
    await expectText(byTestId(`reads-${TOPIC}`), new RegExp(`^${reads}$`));
    await expectText(byTestId(`writes-${TOPIC}`), new RegExp(`^${writes}$`));
  }

  await step('step 4: check, proceed, roll back, search', async () => {
    await ready('DualRead');
    await byTestId(`check-${TOPIC}`).click();
    await expectText(byTestId('step-result'), `${TOPIC}: ready for DualRead`);
    await byTestId(`proceed-${TOPIC}`).click();
    await stageIs('DualRead', 'source \\+ target', 'source');
    await expectText(byTestId('step-result'), `${TOPIC}: now at DualRead`);
    await expectText(byTestId(`consumers-${TOPIC}`), /^2 \/ 2$/, 90000);
    await shot('step4-dualread');
    await byTestId(`rollback-${TOPIC}`).click();
    await stageIs('Initial', 'source', 'source');
    await shot('step4-rolled-back');
    await byTestId('search').fill('nothing-like-it');
    await expectText(byTestId('topics'), 'Nothing matches.');
    await byTestId('search').fill('orders');
    await byTestId(`row-${TOPIC}`).waitFor();
  });

  await step('step 4: proceed the chosen topics in a batch', async () => {
    await ready('DualRead');
    await byTestId(`row-${TOPIC}`).getByRole('checkbox').check();
    await expectText(byTestId('batch-proceed'), 'Proceed (1)');
    await byTestId('batch-proceed').click();
    await expectText(byTestId('step-result'), `${TOPIC}: now at DualRead`);
    await stageIs('DualRead', 'source \\+ target', 'source');
    await ready('DualReadWrite');
    await byTestId('batch-proceed').click();
    await stageIs('DualReadWrite', 'source \\+ target', 'source \\+ target');
    await shot('step4-dualreadwrite');
  });

  await step('step 4: a step taken with the checks ignored needs a reason', async () => {
    await byTestId('batch-ignore').click();
    await byTestId('ignore-dialog').waitFor();
    await byTestId('ignore-proceed').click();
    await expectText(byTestId('ignore-dialog'), 'Say why: the reason is kept in the history.');
    await shot('step4-ignore-checks-needs-a-reason');
    await byTestId('ignore-reason').fill(IGNORE_REASON);
    await byTestId('ignore-proceed').click();
    await expectGone(byTestId('ignore-dialog'));
    await stageIs('CuttingOver', 'source \\+ target', 'target');
    await shot('step4-cuttingover');
  });

  await step('step 4: Completed once the source is drained', async () => {
    await ready('Completed');
    await byTestId(`proceed-${TOPIC}`).click();
    await stageIs('Completed', 'target', 'target');
    await expectText(byTestId(`ready-${TOPIC}`), 'Completed');
    await expectEnabled(byTestId('next')); // step 5 opens once every topic is Completed
    await shot('step4-completed');
  });

  await step('step 4: the monitoring tab charts read and write traffic per cluster', async () => {
    await byTestId('tab-monitoring').click();
    const chart = byTestId('traffic-chart');
    await chart.waitFor();
    // A few more samples at Completed: writes and reads now on the target.
    const legend = await expectText(byTestId('legend-1'), /Writes to the target [1-9]\d*(\.\d)? messages\/s/, 60000);
    await expectText(byTestId('legend-3'), /Reads from the target [1-9]\d*(\.\d)? messages\/s/, 60000);
    assert.equal(await chart.locator('polyline.series').count(), 4, 'four lines: writes and reads on each cluster');
    // Every step since the clients came through Ferry is marked on the time axis.
    const labels = await chart.locator('svg text.marker-label').allTextContents();
    const walked = ['DualRead', 'Initial', 'DualRead', 'DualReadWrite', 'CuttingOver', 'Completed'];
    assert.deepEqual(labels.slice(-walked.length), walked, `the steps marked on the chart: ${labels}`);
    const points = (await chart.locator('polyline.series').first().getAttribute('points')).trim().split(/\s+/);
    assert.ok(points.length >= 10, `a line over time, not a number: ${points.length} points`);
    await expectText(byTestId('traffic-now'), /Last interval: writes 0\.00 source, [1-9][\d.]* target/);
    console.log(`   ${legend}`);
    await shot('step4-monitoring-chart');
    await byTestId('tab-topics').click();
  });

  await step('step 4: the brokers tab lists the masters the checks must hear from', async () => {
    await byTestId('tab-brokers').click();
    const table = byTestId('broker-table');
    await table.waitFor();
    const rows = table.locator('tbody tr');
    await expectText(rows.first(), /source/);
    const text = (await table.textContent()) ?? '';
    assert.ok(/source/.test(text) && /target/.test(text), `both clusters' masters listed: ${text}`);
    assert.equal(await table.getByText('registered', { exact: true }).count(), await rows.count(), `every master registered: ${text}`);
    assert.equal(await table.locator('button').count(), 0, 'nothing to forget while every master is registered');
    await shot('step4-brokers');
    await byTestId('tab-topics').click();
  });

  await step('step 4: the Ferry instances tab lists this instance, up and serving the current stage', async () => {
    await byTestId('tab-fleet').click();
    const table = byTestId('fleet-table');
    await table.waitFor();
    const row = await expectText(table.locator('tbody tr').first(), /\(this one\).*up.*all 1 topics applied/);
    assert.equal(await table.locator('tbody tr').count(), 1, `one instance: ${row}`);
    assert.equal(await table.locator('button').count(), 0, 'nothing to forget while every instance is up');
    await shot('step4-fleet');
    await byTestId('tab-topics').click();
  });

  await step('step 5: complete, and the summary', async () => {
    await byTestId('next').click();
    await page.waitForURL(/\/5$/);
    await expectText(byTestId('complete-state'), 'All 1 topics are Completed: the migration can be completed.');
    await byTestId('complete').click();
    await byTestId('complete-dialog').waitFor();
    await byTestId('complete-confirm').click();
    await expectText(byTestId('summary-status'), 'Completed');
    await expectText(byTestId('migration-status'), 'Completed');
    await expectText(byTestId('complete-state'), 'Migration completed');
    await expectText(byTestId('summary-topics'), '1 of 1 Completed');
    await expectText(byTestId('summary-steps'), /^6 \(1 rollbacks, /);
    const history = await expectText(byTestId('history'), IGNORE_REASON);
    assert.ok(history.includes(ACTOR), `who took the steps: ${history}`);
    for (let n = 1; n <= 4; n++) await byTestId(`step-${n}`).getByText('✓').waitFor();
    assert.match(await byTestId('step-5').getAttribute('class'), /\bdone\b/, 'every step done');
    await shot('step5-complete-summary');
  });

  await step('migration tasks: the migration completed, filtered by status', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Migration tasks' }).click();
    const row = await expectText(byTestId(`migration-${migrationId}`), 'Completed');
    assert.match(row, /1\/1/, row);
    await byTestId('migration-status-filter').selectOption('active');
    await expectText(byTestId('migrations'), 'No seamless migration yet.');
    await byTestId('migration-status-filter').selectOption('completed');
    await byTestId(`migration-${migrationId}`).waitFor();
    await shot('migration-tasks-final');
  });

  await step('log out', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to Ferry' }).waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/migrations')).status);
    assert.equal(status, 401, 'the API refuses the browser once logged out');
  });

  assert.deepEqual(pageErrors, [], 'no script error on any page');
  assert.deepEqual(foreign, [], 'every request went to Ferry itself (no CDN)');
  console.log(`all steps passed; ${shotNumber} screenshots in ${ARTIFACTS}`);
} finally {
  await browser.close();
  stdin.close();
}
