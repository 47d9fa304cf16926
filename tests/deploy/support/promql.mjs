// Just enough PromQL reading to list the metric and label names a Grafana query uses.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan', 'Inf', 'NaN']);

export function metricNames(expr) {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  const names = new Set();
  for (const m of s.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const id = m[0];
    const after = s.slice(m.index + id.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(id)) continue;
    names.add(id);
  }
  return [...names];
}

export function labelNames(expr) {
  const labels = new Set();
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const m of noStrings.matchAll(/\{([^}]*)\}/g)) {
    for (const mm of m[1].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) labels.add(mm[1]);
  }
  for (const m of noStrings.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const l of m[1].split(',').map((x) => x.trim()).filter(Boolean)) labels.add(l);
  }
  labels.delete('le');
  labels.delete('__name__');
  return [...labels];
}

export function balanced(expr) {
  const pairs = { ')': '(', ']': '[', '}': '{' };
  const st = [];
  const s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const ch of s) {
    if ('([{'.includes(ch)) st.push(ch);
    else if (pairs[ch]) { if (st.pop() !== pairs[ch]) return false; }
  }
  return st.length === 0;
}

// Parses Prometheus text exposition: sample names, TYPE declarations, labels per sample name.
export function parseExposition(text) {
  const samples = new Map(); // name -> Set(label names)
  const types = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) { const [, , name, type] = line.split(/\s+/); types.set(name, type); continue; }
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s/);
    if (!m) continue;
    const set = samples.get(m[1]) || new Set();
    if (m[3]) for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(lm[1]);
    samples.set(m[1], set);
  }
  const declared = new Set(samples.keys());
  for (const [name, type] of types) {
    declared.add(name);
    if (type === 'histogram') for (const suf of ['_bucket', '_sum', '_count']) declared.add(name + suf);
    if (type === 'summary') for (const suf of ['_sum', '_count']) declared.add(name + suf);
  }
  return { samples, types, declared };
}
