// Number and time formatting (pure).
export function num(v, digits = 0) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
export function usd(v) {
  if (v === null || v === undefined) return '—';
  const n = Number(v);
  if (n !== 0 && Math.abs(n) < 0.01) return '$' + n.toPrecision(3);
  return '$' + n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 });
}
export function pct(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return (Number(v) * 100).toFixed(1) + '%';
}
export function ms(v) {
  if (v === null || v === undefined) return '—';
  const n = Number(v);
  return n >= 10000 ? (n / 1000).toFixed(1) + ' s' : Math.round(n) + ' ms';
}
export function bytes(v) {
  if (v === null || v === undefined) return '—';
  let n = Number(v); const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}
export function time(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return '—';
  const d = new Date(Number(unixSeconds) * 1000);
  const p = x => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  let s = Math.floor(Number(seconds));
  const d = Math.floor(s / 86400); s %= 86400;
  const hh = Math.floor(s / 3600); s %= 3600;
  const mm = Math.floor(s / 60); s %= 60;
  return (d ? d + 'd ' : '') + (d || hh ? hh + 'h ' : '') + (d || hh || mm ? mm + 'm ' : '') + s + 's';
}
// <input type=datetime-local> value <-> unix seconds (local time).
export function toLocalInput(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  const p = x => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function fromLocalInput(value) {
  if (!value) return null;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}
