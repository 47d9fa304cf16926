// A time-range picker shared by Usage and Logs: presets plus custom start/end.
import { h } from './dom.js';
import { toLocalInput, fromLocalInput } from './format.js';

export const PRESETS = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400, '90d': 90 * 86400 };

// Returns {el, get()} where get() -> {start, end, preset} (unix seconds).
export function rangePicker({ preset = '24h', start, end, onChange, allowAll = false }) {
  const sel = h('select', { name: 'range', 'aria-label': 'time range' },
    allowAll ? h('option', { value: 'all' }, 'All time') : null,
    Object.keys(PRESETS).map(k => h('option', { value: k }, 'Last ' + k)),
    h('option', { value: 'custom' }, 'Custom…'));
  const now = Math.floor(Date.now() / 1000);
  const from = h('input', { type: 'datetime-local', name: 'start', value: toLocalInput(start || now - 86400) });
  const to = h('input', { type: 'datetime-local', name: 'end', value: toLocalInput(end || now) });
  const custom = h('span.custom-range', null, h('label', null, 'From', from), ' ', h('label', null, 'To', to));
  sel.value = start || end ? 'custom' : preset;
  const sync = () => { custom.hidden = sel.value !== 'custom'; };
  sync();
  sel.addEventListener('change', () => { sync(); onChange && onChange(); });
  from.addEventListener('change', () => onChange && onChange());
  to.addEventListener('change', () => onChange && onChange());
  const el = h('span.range', null, h('label', null, 'Time range', sel), custom);
  function get() {
    const n = Math.floor(Date.now() / 1000) + 1;  // end is exclusive: include this very second
    if (sel.value === 'all') return { start: 0, end: n, preset: 'all' };
    if (sel.value === 'custom') {
      const s = fromLocalInput(from.value), e = fromLocalInput(to.value);
      return { start: s ?? n - 86400, end: e ?? n, preset: 'custom' };
    }
    return { start: n - PRESETS[sel.value], end: n, preset: sel.value };
  }
  return { el, get, select: sel };
}
