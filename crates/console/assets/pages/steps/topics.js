// Step 4, topic migration: one row per topic with its stage, its readiness for the next one (the
// engine checks every tick; "Check" runs the checks now), where reads and writes go, its
// subscriptions and consumer clients on the source and the target; search; check, proceed or roll
// back one topic or the chosen ones, ignoring the checks with a reason. A monitoring tab charts
// read and write traffic per cluster over time, with the stage changes marked.
// CLI: `ferry migrate check|proceed|rollback ID TOPIC [--ignore-checks --reason R]`, `ferry migrate
// traffic ID`, `ferry migrate history ID`. A brokers tab lists the brokers the checks must hear
// from (a master that is down fails every check that needs its side, naming it) and forgets one
// that is gone for good, with a reason: `ferry migrate brokers ID`, `ferry migrate forget-broker`.

import { del, get, post, seg } from '../../api.js';
import { badge, dialog, errorBox, fill, fmtRate, fmtTime, h, searchBox, table, tabs } from '../../dom.js';
import { lineChart, rates } from '../../chart.js';

const POLL_MS = 3000;
const STAGES = ['Initial', 'DualRead', 'DualReadWrite', 'CuttingOver', 'Completed', 'Direct'];
/** Traffic on the target only. */
const done = (stage) => stage === 'Completed' || stage === 'Direct';
/** Where consumers read and producers write, as the API says the routes show it. */
function flow(t) {
  // No relay in between at Direct: routes name the target's brokers (the last step before leaving Ferry).
  const say = (sides) => sides.map((s) => (t.stage === 'Direct' ? `${s} (direct)` : s)).join(' + ');
  return { reads: say(t.reads), writes: say(t.writes) };
}

function stageCell(t) {
  const i = STAGES.indexOf(t.stage);
  return h(
    'div',
    null,
    badge(t.stage, done(t.stage) ? 'ok' : 'info', `stage-${t.topic}`),
    h('div', { class: 'pips', 'aria-hidden': 'true' }, STAGES.map((_, n) => h('span', { class: n <= i ? 'pip on' : 'pip' }))),
    t.hold ? h('div', { class: 'hint' }, `strict order: the ${t.hold.writeOnly} is write-only until the other side is read`) : null,
  );
}

function readiness(t) {
  const c = t.lastCheck;
  // Completed may go Direct (its checks run on demand); Direct is the last step.
  if (t.stage === 'Direct' || (t.stage === 'Completed' && !c)) return badge(t.stage, 'ok', `ready-${t.topic}`);
  if (!c) return h('span', { class: 'muted', testid: `ready-${t.topic}` }, 'Not checked yet');
  const failing = c.checks.filter((x) => !x.passed);
  return h(
    'div',
    null,
    failing.length === 0
      ? badge(`Ready for ${c.toward}`, 'ok', `ready-${t.topic}`)
      : badge(`Not ready for ${c.toward}`, 'warn', `ready-${t.topic}`),
    failing.length
      ? h('ul', { class: 'checks', testid: `failing-${t.topic}` }, failing.map((x) => h('li', null, h('code', null, x.name), ' ', x.detail)))
      : null,
    h('div', { class: 'hint' }, `checked ${fmtTime(c.at)}`),
  );
}

export function render(body, ctx) {
  const id = ctx.id;
  let clients = null;
  let query = '';
  let monitoring = false;
  let chartTopic = null;
  const chosen = new Set();
  const rowsBox = h('div', { testid: 'topics' });
  const results = h('div', { testid: 'step-results' });
  const chartBox = h('div', { testid: 'monitoring' });
  const brokersBox = h('div', { testid: 'brokers' });
  const topicsPanel = h('div');
  const monitorPanel = h('div', { hidden: true });
  const brokersPanel = h('div', { hidden: true });
  let brokersShown = false;
  const fleetBox = h('div', { testid: 'fleet' });
  const fleetPanel = h('div', { hidden: true });
  let fleetShown = false;
  const batchButtons = {};
  const next = h('button', { type: 'button', class: 'primary', testid: 'next', disabled: true, onclick: () => ctx.go(5) }, 'Next: complete');

  function consumers(t) {
    let source = 0;
    let target = 0;
    for (const g of clients ? clients.groups : []) {
      if (!t.groups.includes(g.group)) continue;
      source += g.sourceDirect.length + g.sourceThroughFerry.length;
      target += g.targetDirect.length + g.targetThroughFerry.length;
    }
    return clients ? `${source} / ${target}` : '…';
  }

  let drawn = '';

  function draw() {
    const detail = ctx.detail;
    if (!detail) return;
    next.disabled = !(detail.topics.length && detail.topics.every((x) => done(x.stage)));
    // Redrawn only when something shown changed (a click is never lost to a redraw of the same).
    const signature = JSON.stringify([detail.topics, clients && clients.groups, query, [...chosen]]);
    if (signature === drawn) return;
    drawn = signature;
    const topics = detail.topics.filter((t) => !query || t.topic.toLowerCase().includes(query));
    const all = h('input', {
      type: 'checkbox',
      'aria-label': 'Choose all shown',
      testid: 'all-topics',
      checked: topics.length > 0 && topics.every((t) => chosen.has(t.topic)),
      onchange: (e) => {
        for (const t of topics) (e.target.checked ? chosen.add(t.topic) : chosen.delete(t.topic));
        draw();
      },
    });
    const head = [all, 'Topic', 'Stage', 'Readiness', 'Reads from', 'Writes to', 'Subscriptions', 'Consumers (source / target)', ''];
    fill(
      rowsBox,
      h(
        'table',
        { class: 'grid' },
        h('thead', null, h('tr', null, head.map((x) => h('th', null, x)))),
        h(
          'tbody',
          null,
          topics.length === 0
            ? h('tr', null, h('td', { class: 'empty', colspan: String(head.length) }, 'Nothing matches.'))
            : topics.map((t) => {
                const f = flow(t);
                return h(
                  'tr',
                  { testid: `row-${t.topic}` },
                  h('td', null, h('input', {
                    type: 'checkbox',
                    'aria-label': `Choose ${t.topic}`,
                    checked: chosen.has(t.topic),
                    onchange: (e) => {
                      if (e.target.checked) chosen.add(t.topic);
                      else chosen.delete(t.topic);
                      draw();
                    },
                  })),
                  h('td', null, h('strong', null, t.topic), t.strictOrder ? h('div', { class: 'hint' }, t.oneWriteSide ? 'strict order, one side written at a time' : 'strict order') : null),
                  h('td', null, stageCell(t)),
                  h('td', { class: 'readiness' }, readiness(t)),
                  h('td', { testid: `reads-${t.topic}` }, f.reads),
                  h('td', { testid: `writes-${t.topic}` }, f.writes),
                  h('td', null, t.groups.join(', ') || h('span', { class: 'muted' }, 'none')),
                  h('td', { class: 'num', testid: `consumers-${t.topic}` }, consumers(t)),
                  h(
                    'td',
                    { class: 'row-actions' },
                    h('button', { type: 'button', class: 'small', testid: `check-${t.topic}`, onclick: () => act('check', [t.topic]) }, 'Check'),
                    h('button', { type: 'button', class: 'small primary', testid: `proceed-${t.topic}`, disabled: t.stage === 'Direct', onclick: () => act('proceed', [t.topic]) }, t.stage === 'Completed' ? 'Go direct' : 'Proceed'),
                    h('button', { type: 'button', class: 'small', testid: `rollback-${t.topic}`, disabled: t.stage === 'Initial', onclick: () => act('rollback', [t.topic]) }, 'Roll back'),
                  ),
                );
              }),
        ),
      ),
    );
    const n = [...chosen].filter((name) => detail.topics.some((t) => t.topic === name)).length;
    for (const b of Object.values(batchButtons)) {
      b.disabled = n === 0;
      b.textContent = `${b.dataset.label}${n ? ` (${n})` : ''}`;
    }
  }

  /** One topic: its own endpoint; several: the batch endpoint, one result each. */
  async function act(action, topics, ignore) {
    fill(results, h('p', { class: 'muted' }, `${action === 'check' ? 'Checking' : action === 'proceed' ? 'Proceeding' : 'Rolling back'} ${topics.join(', ')}…`));
    try {
      let outcome;
      if (topics.length === 1 && !ignore) {
        const path = `/api/migrations/${id}/topics/${seg(topics[0])}/${action}`;
        const answer = await post(path);
        outcome = [action === 'check'
          ? { topic: topics[0], ok: true, report: answer }
          : { topic: topics[0], ok: true, stage: answer.stage }];
      } else {
        const b = { action, topics };
        if (ignore) Object.assign(b, { ignoreChecks: true, reason: ignore });
        outcome = (await post(`/api/migrations/${id}/batch`, b)).results;
      }
      showResults(action, outcome);
    } catch (e) {
      fill(results, errorBox(e, 'step-error'));
    }
    await ctx.refresh().catch(() => {});
    draw();
  }

  function showResults(action, list) {
    fill(
      results,
      h(
        'div',
        { class: list.every((r) => r.ok && (!r.report || r.report.checks.every((c) => c.passed))) ? 'alert ok' : 'alert warn', testid: 'step-result' },
        list.map((r) => {
          if (!r.ok) {
            const failing = r.report ? r.report.checks.filter((c) => !c.passed) : [];
            return h('div', null, h('strong', null, r.topic), `: ${r.error}`, failing.length ? h('ul', { class: 'checks' }, failing.map((c) => h('li', null, h('code', null, c.name), ' ', c.detail))) : null);
          }
          if (action === 'check') {
            const failing = r.report.checks.filter((c) => !c.passed);
            return h(
              'div',
              null,
              h('strong', null, r.topic),
              failing.length ? `: not ready for ${r.report.toward}` : `: ready for ${r.report.toward}`,
              failing.length ? h('ul', { class: 'checks' }, failing.map((c) => h('li', null, h('code', null, c.name), ' ', c.detail))) : null,
            );
          }
          return h('div', null, h('strong', null, r.topic), `: now at ${r.stage}`);
        }),
      ),
    );
  }

  async function ignoreChecks() {
    const reason = h('textarea', { rows: '3', testid: 'ignore-reason', placeholder: 'why the failing checks may be ignored' });
    const topics = [...chosen];
    const choice = await dialog({
      title: 'Step ignoring the checks',
      testid: 'ignore-dialog',
      body: [
        h('p', null, `Take one step for ${topics.join(', ')} even if its checks fail. The failing checks and their evidence are kept in the history with your reason.`),
        h('label', { class: 'field' }, h('span', { class: 'label' }, 'Reason'), reason),
      ],
      validate: () => (reason.value.trim() ? null : 'Say why: the reason is kept in the history.'),
      actions: [
        { label: 'Cancel', value: null },
        { label: 'Roll back anyway', value: 'rollback', kind: 'danger', testid: 'ignore-rollback' },
        { label: 'Proceed anyway', value: 'proceed', kind: 'danger', testid: 'ignore-proceed' },
      ],
    });
    if (choice) await act(choice, topics, reason.value.trim());
  }

  async function refreshClients() {
    try {
      clients = await get(`/api/migrations/${id}/clients`);
    } catch {
      clients = null;
    }
  }

  async function drawChart() {
    const detail = ctx.detail;
    if (!detail || !monitoring) return;
    const names = detail.topics.map((t) => t.topic);
    if (!chartTopic || !names.includes(chartTopic)) chartTopic = names[0];
    if (!chartTopic) {
      fill(chartBox, h('p', { class: 'muted' }, 'No topic yet.'));
      return;
    }
    let traffic;
    let history;
    try {
      [traffic, history] = await Promise.all([
        get(`/api/migrations/${id}/traffic`),
        get(`/api/migrations/${id}/history?topic=${seg(chartTopic)}`),
      ]);
    } catch (e) {
      fill(chartBox, errorBox(e));
      return;
    }
    const t = traffic.topics.find((x) => x.topic === chartTopic);
    const samples = t ? t.samples : [];
    const series = [
      { name: 'Writes to the source', points: rates(samples, (s) => s.source.producedMessages) },
      { name: 'Writes to the target', points: rates(samples, (s) => s.target.producedMessages) },
      { name: 'Reads from the source', points: rates(samples, (s) => s.source.consumedMessages) },
      { name: 'Reads from the target', points: rates(samples, (s) => s.target.consumedMessages) },
    ];
    const markers = history.transitions.filter((x) => x.to && x.from !== x.to).map((x) => ({ t: Date.parse(x.at), label: x.to }));
    const picker = h(
      'select',
      { testid: 'chart-topic', onchange: (e) => { chartTopic = e.target.value; drawChart(); } },
      names.map((n) => h('option', { value: n, selected: n === chartTopic ? true : undefined }, n)),
    );
    const now = t && t.rates ? t.rates.perSecond : null;
    fill(
      chartBox,
      h('div', { class: 'toolbar' }, h('label', { class: 'inline' }, 'Topic ', picker), h('div', { class: 'spacer' }), t ? badge(t.stage, 'info') : null),
      // The axis starts at the first sample: a step taken between it and the first rate is shown.
      lineChart({ series, markers, unit: 'messages/s', testid: 'traffic-chart', start: samples.length ? Date.parse(samples[0].at) : Infinity }),
      now
        ? h('p', { class: 'hint', testid: 'traffic-now' }, `Last interval: writes ${fmtRate(now.source.producedMessages)} source, ${fmtRate(now.target.producedMessages)} target; reads ${fmtRate(now.source.consumedMessages)} source, ${fmtRate(now.target.consumedMessages)} target (messages/s).`)
        : h('p', { class: 'hint' }, 'Rates appear after two samples of the engine.'),
    );
  }

  async function drawBrokers() {
    if (!brokersShown) return;
    let list;
    try {
      list = (await get(`/api/migrations/${id}/brokers`)).brokers;
    } catch (e) {
      fill(brokersBox, errorBox(e));
      return;
    }
    const state = (b) => {
      if (b.forgotten) return h('span', { class: 'muted' }, `forgotten by ${b.forgotten.actor}: ${b.forgotten.reason}`);
      if (b.registered === true) return badge('registered', 'ok');
      if (b.registered === false) return badge('not registered: checks of this side fail', 'warn');
      return badge('unknown: NameServer unreachable', 'warn');
    };
    fill(
      brokersBox,
      h('p', { class: 'hint' }, 'Checks must hear from every broker here. A broker that disappears stays expected: its backlog and offsets cannot be proved empty while it is down. Forget one only if it is gone for good.'),
      table(
        [
          { title: 'Side', render: (b) => b.side },
          { title: 'Broker', render: (b) => h('div', null, h('strong', null, b.name), b.alias ? h('div', { class: 'hint' }, `clients see ${b.alias}`) : null) },
          { title: 'Master', render: (b) => b.addr || '' },
          { title: 'Last seen', render: (b) => fmtTime(b.lastSeen) },
          { title: 'State', render: state },
          {
            title: '',
            render: (b) => (b.forgotten || b.registered === true
              ? ''
              : h('button', { type: 'button', class: 'small danger', testid: `forget-${b.side}-${b.name}`, onclick: () => forget(b) }, 'Forget…')),
          },
        ],
        list,
        { testid: 'broker-table', rowTestid: (b) => `broker-${b.side}-${b.name}` },
      ),
    );
  }

  // Every Ferry instance sharing the store: the next step waits until each serves the current stage.
  async function drawFleet() {
    if (!fleetShown) return;
    let fleet;
    try {
      fleet = await get('/api/fleet');
    } catch (e) {
      fill(fleetBox, errorBox(e));
      return;
    }
    const mine = (i) => i.topics.filter((x) => String(x.migration) === String(id));
    const applied = (i) => {
      const ts = mine(i);
      const behind = ts.filter((x) => !x.applied);
      if (ts.length === 0) return h('span', { class: 'muted' }, 'no topic of this migration');
      if (behind.length === 0) return badge(`all ${ts.length} topics applied`, 'ok');
      return badge(`behind: ${behind.map((x) => `${x.topic} (${x.stage})`).join(', ')}`, 'warn');
    };
    fill(
      fleetBox,
      h('p', { class: 'hint' }, 'Clients list every instance as their NameServers. A step waits until every instance serves the current stage; an instance not heard from counts only once nothing listens at its NameServer address. Forget one only if it is gone for good.'),
      table(
        [
          { title: 'Instance', render: (i) => h('div', null, h('strong', null, i.name), i.this ? h('span', { class: 'hint' }, ' (this one)') : null) },
          { title: 'NameServer', render: (i) => i.namesrv },
          { title: 'State', render: (i) => (i.state === 'up' ? badge('up', 'ok') : badge(`down: not heard for ${i.heartbeatAgeSecs} s`, 'warn')) },
          { title: 'Clients', render: (i) => String(i.clients) },
          { title: 'Stages', render: applied },
          {
            title: '',
            render: (i) => (i.this || i.state === 'up'
              ? ''
              : h('button', { type: 'button', class: 'small danger', testid: `forget-instance-${i.name}`, onclick: () => forgetInstance(i) }, 'Forget…')),
          },
        ],
        fleet.instances,
        { testid: 'fleet-table', rowTestid: (i) => `instance-${i.name}` },
      ),
    );
  }

  async function forgetInstance(i) {
    const ok = await dialog({
      title: `Forget instance ${i.name}`,
      testid: 'forget-instance-dialog',
      body: [h('p', null, `Steps will stop waiting for ${i.name}. Clients still on it would keep the routes it last served. It comes back by itself if it writes a heartbeat again.`)],
      actions: [
        { label: 'Cancel', value: null },
        { label: 'Forget instance', value: true, kind: 'danger', testid: 'forget-instance-confirm' },
      ],
    });
    if (!ok) return;
    try {
      await del(`/api/fleet/${seg(i.name)}`);
    } catch (e) {
      fill(fleetBox, errorBox(e));
      return;
    }
    await drawFleet();
  }

  async function forget(b) {
    const reason = h('textarea', { rows: '3', testid: 'forget-reason', placeholder: 'why this broker is gone for good' });
    const ok = await dialog({
      title: `Forget ${b.side} broker ${b.name}`,
      testid: 'forget-dialog',
      body: [
        h('p', null, 'Checks will stop waiting to hear from this broker. Messages still on it would not be counted. The decision and your reason are kept in the history.'),
        h('label', { class: 'field' }, h('span', { class: 'label' }, 'Reason'), reason),
      ],
      validate: () => (reason.value.trim() ? null : 'Say why: the reason is kept in the history.'),
      actions: [
        { label: 'Cancel', value: null },
        { label: 'Forget broker', value: true, kind: 'danger', testid: 'forget-confirm' },
      ],
    });
    if (!ok) return;
    try {
      await post(`/api/migrations/${id}/brokers/${seg(b.side)}/${seg(b.name)}/forget`, { reason: reason.value.trim() });
    } catch (e) {
      fill(brokersBox, errorBox(e));
      return;
    }
    await drawBrokers();
  }

  const t = tabs(
    [
      { id: 'topics', title: 'Topics' },
      { id: 'monitoring', title: 'Monitoring' },
      { id: 'brokers', title: 'Brokers' },
      { id: 'fleet', title: 'Ferry instances' },
    ],
    'topics',
    (tab) => {
      monitoring = tab === 'monitoring';
      brokersShown = tab === 'brokers';
      fleetShown = tab === 'fleet';
      topicsPanel.hidden = tab !== 'topics';
      monitorPanel.hidden = !monitoring;
      brokersPanel.hidden = !brokersShown;
      fleetPanel.hidden = !fleetShown;
      if (monitoring) drawChart();
      if (brokersShown) drawBrokers();
      if (fleetShown) drawFleet();
    },
  );

  for (const [action, label] of [['check', 'Check'], ['proceed', 'Proceed'], ['rollback', 'Roll back']]) {
    batchButtons[action] = h('button', { type: 'button', class: action === 'proceed' ? 'primary' : '', testid: `batch-${action}`, 'data-label': label, disabled: true, onclick: () => act(action, [...chosen]) }, label);
  }
  batchButtons.ignore = h('button', { type: 'button', class: 'danger', testid: 'batch-ignore', 'data-label': 'Ignore checks…', disabled: true, onclick: ignoreChecks }, 'Ignore checks…');

  fill(topicsPanel,
    h('div', { class: 'toolbar' }, searchBox('Search topics', (q) => { query = q; draw(); }), h('div', { class: 'spacer' }), h('span', { class: 'muted' }, 'Chosen topics: '), Object.values(batchButtons)),
    rowsBox,
    results,
  );
  fill(monitorPanel, chartBox);
  fill(brokersPanel, brokersBox);
  fill(fleetPanel, fleetBox);
  fill(body, h('section', { class: 'card' }, t.el, topicsPanel, monitorPanel, brokersPanel, fleetPanel), h('div', { class: 'actions' }, next));

  async function tick() {
    await refreshClients();
    draw();
    if (monitoring) drawChart();
    if (brokersShown) drawBrokers();
    if (fleetShown) drawFleet();
  }
  tick();
  const timer = setInterval(tick, POLL_MS);
  return () => clearInterval(timer);
}
