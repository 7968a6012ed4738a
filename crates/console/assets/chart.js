// A line chart in inline SVG (no library): series of (time, value) points over a shared time
// axis, a value axis from zero, grid lines, labelled vertical markers (stage changes), a legend.

import { h } from './dom.js';

const W = 900;
const H = 280;
const PAD = { left: 56, right: 16, top: 40, bottom: 30 };

/** 1, 2, 5, 10, 20, 50, ... at or above `v`. */
function niceCeil(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function clock(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * series: [{name, points: [[timeMs, value]]}] (each gets the colour of its position);
 * markers: [{t, label}]; unit: the value axis' label; start: where the time axis begins when it is
 * before the first point (rates start one sample after the first sample). Returns an element with
 * the SVG and legend.
 */
export function lineChart({ series, markers = [], unit = '', testid = 'chart', start = Infinity }) {
  const all = series.flatMap((s) => s.points);
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${series.map((s) => s.name).join(', ')} over time` });
  const legend = h(
    'ul',
    { class: 'legend' },
    series.map((s, i) => {
      const last = s.points.length ? s.points[s.points.length - 1][1] : null;
      return h('li', { testid: `legend-${i}` }, h('span', { class: `swatch s${i}` }), `${s.name}`, last === null ? '' : h('span', { class: 'muted' }, ` ${last.toFixed(1)} ${unit}`));
    }),
  );
  if (all.length === 0) {
    svg.append(h('text', { x: String(W / 2), y: String(H / 2), class: 'axis-label', 'text-anchor': 'middle' }, 'No traffic sampled yet'));
    return h('div', { class: 'chart-box', testid }, svg, legend);
  }
  const t0 = Math.min(start, ...all.map((p) => p[0]));
  // Up to the latest sample, or a later marker (a step taken since): it shows at once.
  const t1 = Math.max(t0 + 1000, ...all.map((p) => p[0]), ...markers.map((m) => m.t));
  const vmax = niceCeil(Math.max(...all.map((p) => p[1])));
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / vmax) * (H - PAD.top - PAD.bottom);

  const grid = h('g', { class: 'grid-lines' });
  for (let i = 0; i <= 4; i++) {
    const v = (vmax * i) / 4;
    grid.append(
      h('line', { x1: String(PAD.left), x2: String(W - PAD.right), y1: String(y(v)), y2: String(y(v)) }),
      h('text', { x: String(PAD.left - 6), y: String(y(v) + 4), 'text-anchor': 'end', class: 'axis-label' }, Number.isInteger(v) ? String(v) : v.toFixed(1)),
    );
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    grid.append(h('text', { x: String(x(t)), y: String(H - 10), 'text-anchor': 'middle', class: 'axis-label' }, clock(t)));
  }
  grid.append(h('text', { x: '4', y: '12', class: 'axis-label' }, unit));
  svg.append(grid);

  const marks = h('g', { class: 'markers' });
  // Labels alternate between two rows above the plot, so that close steps stay readable.
  markers
    .filter((m) => m.t >= t0 && m.t <= t1)
    .forEach((m, i) => {
      marks.append(
        h('line', { x1: String(x(m.t)), x2: String(x(m.t)), y1: String(PAD.top - (i % 2 ? 8 : 20)), y2: String(H - PAD.bottom) }),
        h('text', { x: String(x(m.t) + 3), y: String(PAD.top - (i % 2 ? 10 : 22)), class: 'marker-label' }, m.label),
      );
    });
  svg.append(marks);

  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const pts = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(h('polyline', { class: `series s${i}`, points: pts, 'data-series': s.name }, h('title', null, s.name)));
  });
  return h('div', { class: 'chart-box', testid }, svg, legend);
}

/** Per-second rates between consecutive cumulative samples: [[timeMs, rate]]. */
export function rates(samples, pick) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    const dt = (Date.parse(b.at) - Date.parse(a.at)) / 1000;
    if (dt <= 0) continue;
    out.push([Date.parse(b.at), Math.max(0, (pick(b) - pick(a)) / dt)]);
  }
  return out;
}
