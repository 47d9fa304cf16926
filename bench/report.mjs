// Result writers for bench/harness.mjs: latest.md (tables, targets, ratios), one PNG chart per
// figure (gnuplot, pngcairo), and a generated block in docs/performance.md if that page has the
// markers <!-- bench:begin --> and <!-- bench:end --> (it has none today). Can be re-run on a
// stored result:
//   node bench/report.mjs bench/results/latest.json [--no-docs]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_LABELS = { direct: 'mock direct', nginx: 'nginx proxy_pass', llmgate: 'llmgate (ledger on)', 'llmgate-nolog': 'llmgate (ledger off)', 'llmgate-vkey': 'llmgate (ledger on, virtual key)', 'llmgate-busypoll': 'llmgate (ledger on, busy poll)', portkey: 'Portkey gateway' };
const SCENARIOS = { ns_c1: 'non-streaming, 1 connection', ns_c50: 'non-streaming, 50 connections', st_c1: 'streaming, 1 connection (TTFT)', st_c50: 'streaming, 50 connections' };

const f0 = (x) => (x == null ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => (x == null ? 'n/a' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const f2 = (x) => (x == null ? 'n/a' : x.toFixed(2));
const mb = (kb) => (kb == null ? 'n/a' : (kb / 1024).toFixed(1));
const ratio = (a, b) => (a == null || b == null || !b ? null : a / b);
// Median of the numbers in `a` (null and NaN skipped); null when there are none.
export const median = (a) => { const s = a.filter((x) => x != null && !Number.isNaN(x)).sort((x, y) => x - y); if (!s.length) return null;
  const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

// A contender's display name: as the run labelled it (latest.json's meta.labels), else the default.
const labelOf = (r, n) => r.meta?.labels?.[n] || DEFAULT_LABELS[n] || n;

export function buildMarkdown(r) {
  const M = r.medians, names = Object.keys(M.ns_c1 || {});
  const L = (n) => labelOf(r, n);
  const out = [];
  const m = r.meta;
  out.push(`Run ${m.date} on commit ${m.commit}: ${m.cpus} CPU(s) (${m.cpu_model}), kernel ${m.kernel}; ` +
    `at 50 connections the gateways are pinned to CPU ${m.gateway_cpu || 'any'}${m.writer_cpu ? ` (llmgate's ledger writer to CPU ${m.writer_cpu})` : ''} and wrk/clients + the mock to CPU ${m.load_cpu || 'any'}, at 1 connection nothing is pinned; processes at nice ${m.nice ?? 0}; ` +
    `${m.options.rounds} round(s) of ${m.options['duration-s']} s per cell, medians of clean runs; load average at start ${m.loadavg_start.join(' ')}, at end ${(m.loadavg_end || []).join(' ')}. ` +
    `Every gateway runs one worker (nginx worker_processes 1, llmgate --workers 1, Portkey: one Node process).`);
  const cells = Object.values(M).flatMap((s) => Object.values(s));
  const clean = cells.reduce((s, c) => s + c.clean_runs, 0), runs = cells.reduce((s, c) => s + c.runs, 0);
  if (runs && clean / runs < 0.5) {
    const other = cells.map((c) => c.other_cores).filter((x) => x != null).sort((a, b) => a - b);
    out.push('', `**Disturbed run**: only ${clean} of ${runs} runs were clean; other processes on the machine used a median ` +
      `${f2(other[other.length >> 1])} core(s) during the runs, so most cells hold the least disturbed attempt. Absolute ` +
      'latencies (p99s above all) are inflated; the 50-connection CPU-per-request ratios (gateway pinned to its own core) ' +
      'are the most trustworthy figures. Rerun `make bench` on a quiet machine before quoting numbers.');
  }
  for (const note of r.notes || []) out.push('', `Note: ${note}.`);
  out.push('');
  for (const [id, title] of Object.entries(SCENARIOS)) {
    if (!M[id]) continue;
    const st = id.startsWith('st');
    out.push(`### ${title}`, '');
    const head = ['contender', st ? 'streams/s' : 'req/s', 'p50 us', 'p90 us', 'p99 us', 'CPU us/req'];
    if (st) head.push('CPU us/event');
    if (id === 'st_c1') head.push('TTFT p50 us', 'TTFT p99 us');
    head.push('context switches/req', 'gateway cores', 'other load (cores)', 'gateway run-queue wait / CPU', 'clean runs', 'errors');
    out.push('| ' + head.join(' | ') + ' |', '|' + head.map(() => '---').join('|') + '|');
    for (const n of names) {
      const c = M[id][n];
      if (!c) continue;
      const row = [L(n), f1(c.rps), f0(c.p50_us), f0(c.p90_us), f0(c.p99_us), f1(c.cpu_us_per_req)];
      if (st) row.push(f2(c.cpu_us_per_event));
      if (id === 'st_c1') row.push(f0(c.ttft_p50_us), f0(c.ttft_p99_us));
      row.push(f2(c.ctx_switches_per_req), f2(c.gw_cores), f2(c.other_cores), f2(c.gw_wait_per_cpu), `${c.clean_runs}/${c.runs}`, String(c.errors));
      out.push('| ' + row.join(' | ') + ' |');
    }
    out.push('');
  }
  out.push('### Memory, startup, concurrent streams', '');
  out.push('| contender | startup to ready ms | idle RSS MB (anon + file-backed; PSS) | concurrent streams | errors | events/stream | peak RSS MB during them | TTFT p50 ms at that load |', '|---|---|---|---|---|---|---|---|');
  for (const n of names) {
    if (n === 'direct') continue;
    const s = r.streams1k[n] || {};
    const d = r.idle_detail_kb?.[n];
    out.push(`| ${L(n)} | ${f1(r.startup[n])} | ${mb(r.idle_rss_kb[n])}${d ? ` (${mb(d.anon)} + ${mb(d.file)}; ${mb(d.pss)})` : ''} | ${s.concurrency ?? 'n/a'} (${s.streams ?? 0} done) | ${s.errors ?? 'n/a'} | ${s.events_min ?? '?'}-${s.events_max ?? '?'} | ${mb(s.peak_rss_kb)} | ${s.ttft_p50_us != null ? (s.ttft_p50_us / 1000).toFixed(1) : 'n/a'} |`);
  }
  out.push('');
  if (r.idle_cpu_after_rounds) out.push('CPU used while idle (cores), right after the 1,000 streams / right after the rounds: ' + Object.keys(r.idle_cpu_after_rounds).filter((n) => n !== 'direct').map((n) => `${L(n)} ${f2(r.idle_cpu_after_load?.[n])} / ${f2(r.idle_cpu_after_rounds[n])}`).join('; ') + '.', '');
  if (r.soak) {
    out.push(`Soak (llmgate, ${r.soak.seconds} s of wrk 8 connections + 20 concurrent streams): RSS ${mb(r.soak.rss_start_kb)} MB after warm-up, ` +
      `${mb(r.soak.rss_end_kb)} MB at the end, max ${mb(r.soak.rss_max_kb)} MB; last quarter vs second quarter: ${r.soak.growth_second_vs_last_quarter_pct.toFixed(1)}%.`, '');
  }
  if (r.ledger_writer) out.push(`SQLite ledger writer alone (bench/ledger, ${r.ledger_writer.rows} rows): ${r.ledger_writer.output.join(' / ')}`, '');

  // Targets and ratios.
  const g = (id, n, f) => M[id]?.[n]?.[f] ?? null;
  // Same-round ratios: the two contenders' cells of one round ran minutes apart at most, so a
  // machine that drifts between a fast and a slow mode during the run shifts both alike.
  const perRound = (id, f, a = 'llmgate', b = 'nginx', fb = f) => {
    const out = [];
    for (const round of [...new Set((r.cells || []).map((c) => c.round))].sort((x, y) => x - y)) {
      const pick = (n) => (r.cells || []).find((c) => c.round === round && c.scenario === id && c.contender === n && !c.failed);
      const q = ratio(pick(a)?.[f], pick(b)?.[fb]);
      if (q != null) out.push(q);
    }
    return out;
  };
  // A ratio target is met when both estimates meet it: the ratio of the medians and the median
  // of the same-round ratios; "mixed" when only one does.
  const verdict = (q, rounds, ok) => { const qr = median(rounds); if (q == null) return null; if (qr == null) return ok(q); return ok(q) && ok(qr) ? true : ok(q) || ok(qr) ? 'mixed' : false; };
  const roundsText = (rounds) => (rounds.length > 1 ? `; same-round ratios ${rounds.map(f2).join(', ')}, median ${f2(median(rounds))}x` : '');
  const rows = [];
  const t = (name, value, goal, ok) => rows.push(`| ${name} | ${value} | ${goal} | ${ok == null ? 'n/a' : ok === 'mixed' ? '**edge** (one estimate meets it)' : ok ? 'met' : '**not met**'} |`);
  if (names.includes('llmgate')) {
    const le15 = (q) => q <= 1.5;
    const cpuR = ratio(g('ns_c50', 'llmgate', 'cpu_us_per_req'), g('ns_c50', 'nginx', 'cpu_us_per_req'));
    const cpuRounds = perRound('ns_c50', 'cpu_us_per_req');
    t('CPU per non-streaming request vs nginx (50 conns, ledger on)', cpuR == null ? 'n/a' : `${f2(cpuR)}x (${f1(g('ns_c50', 'llmgate', 'cpu_us_per_req'))} vs ${f1(g('ns_c50', 'nginx', 'cpu_us_per_req'))} us)${roundsText(cpuRounds)}`, '<= 1.5x, then <= 1x', verdict(cpuR, cpuRounds, le15));
    const wk = g('ns_c50', 'llmgate', 'workers_us_per_req'), wr = g('ns_c50', 'llmgate', 'writer_us_per_req');
    if (wk != null && wr != null) {
      // The request path (worker threads) against nginx's whole worker, and what the ledger's
      // writer adds on the same pinned core: what a second core for the writer would take off.
      const wkRounds = perRound('ns_c50', 'workers_us_per_req', 'llmgate', 'nginx', 'cpu_us_per_req');
      t('CPU per request by thread, ledger on (50 conns)', `workers ${f1(wk)} us (${f2(ratio(wk, g('ns_c50', 'nginx', 'cpu_us_per_req')))}x nginx${roundsText(wkRounds)}); ledger writer ${f1(wr)} us per request, on the same core`, 'where the time goes', null);
    }
    // User and kernel time per request: the kernel's part (socket calls, TCP) is the same work for
    // every proxy; the rest is each one's own code.
    const uk = (n) => { const c = g('ns_c50', n, 'cpu_us_per_req'), k = g('ns_c50', n, 'sys_us_per_req'); return c == null || k == null ? null : `${f1(c - k)} / ${f1(k)} us`; };
    if (uk('nginx') && uk('llmgate')) {
      t('CPU per request, user / kernel (50 conns)', ['nginx', 'llmgate', 'llmgate-nolog'].filter(uk).map((n) => `${L(n)} ${uk(n)}`).join('; '),
        'where the time goes', null);
    }
    if (names.includes('llmgate-nolog')) {
      const offR = ratio(g('ns_c50', 'llmgate-nolog', 'cpu_us_per_req'), g('ns_c50', 'nginx', 'cpu_us_per_req'));
      const offRounds = perRound('ns_c50', 'cpu_us_per_req', 'llmgate-nolog');
      t('CPU per non-streaming request vs nginx (50 conns, ledger off)', offR == null ? 'n/a' : `${f2(offR)}x (${f1(g('ns_c50', 'llmgate-nolog', 'cpu_us_per_req'))} us)${roundsText(offRounds)}`, '<= 1.5x, then <= 1x', verdict(offR, offRounds, le15));
    }
    const rpsR = ratio(g('ns_c50', 'llmgate', 'rps'), g('ns_c50', 'nginx', 'rps'));
    const rpsRounds = perRound('ns_c50', 'rps');
    t('Throughput at 50 connections vs nginx (ledger on)', rpsR == null ? 'n/a' : `${f2(rpsR)}x${roundsText(rpsRounds)}`, '>= 0.9x', verdict(rpsR, rpsRounds, (q) => q >= 0.9));
    if (names.includes('llmgate-nolog')) {
      // The same figure without the ledger: the request path alone on the pinned core, which
      // with the ledger on it shares with the writer thread.
      const offRps = ratio(g('ns_c50', 'llmgate-nolog', 'rps'), g('ns_c50', 'nginx', 'rps'));
      const offRpsRounds = perRound('ns_c50', 'rps', 'llmgate-nolog');
      t('Throughput at 50 connections vs nginx (ledger off)', offRps == null ? 'n/a' : `${f2(offRps)}x${roundsText(offRpsRounds)}`, '>= 0.9x', verdict(offRps, offRpsRounds, (q) => q >= 0.9));
    }
    const a50 = g('ns_c1', 'llmgate', 'p50_us') - g('ns_c1', 'direct', 'p50_us');
    const a99 = g('ns_c1', 'llmgate', 'p99_us') - g('ns_c1', 'direct', 'p99_us');
    const n50 = g('ns_c1', 'nginx', 'p50_us') - g('ns_c1', 'direct', 'p50_us');
    t('Added p50 latency over the mock, 1 connection', `${f0(a50)} us (nginx adds ${f0(n50)} us)`, '< 50 us', a50 < 50);
    t('Added p99 latency over the mock, 1 connection (ledger on)', `${f0(a99)} us`, '< 200 us', a99 < 200);
    if (names.includes('llmgate-nolog')) {
      const off99 = g('ns_c1', 'llmgate-nolog', 'p99_us') - g('ns_c1', 'direct', 'p99_us');
      t('Added p99 latency over the mock, 1 connection (ledger off)', `${f0(off99)} us`, '< 200 us', off99 < 200);
    }
    const tt = g('st_c1', 'llmgate', 'ttft_p50_us') - g('st_c1', 'direct', 'ttft_p50_us');
    t('Added time to first token p50 (streaming, 1 connection)', `${f0(tt)} us (nginx adds ${f0(g('st_c1', 'nginx', 'ttft_p50_us') - g('st_c1', 'direct', 'ttft_p50_us'))} us)`, '< 100 us', tt < 100);
    if (names.includes('llmgate-busypoll')) {
      // The same latency targets with busy polling (an option, off by default), and what it costs:
      // CPU per request at 1 connection (where it polls between requests) and at 50.
      const bp = 'llmgate-busypoll';
      const b50 = g('ns_c1', bp, 'p50_us') - g('ns_c1', 'direct', 'p50_us');
      const b99 = g('ns_c1', bp, 'p99_us') - g('ns_c1', 'direct', 'p99_us');
      const btt = g('st_c1', bp, 'ttft_p50_us') - g('st_c1', 'direct', 'ttft_p50_us');
      t(`Added p50 latency over the mock, 1 connection, ${L(bp)}`, `${f0(b50)} us`, '< 50 us', b50 < 50);
      t(`Added p99 latency over the mock, 1 connection, ${L(bp)}`, `${f0(b99)} us`, '< 200 us', b99 < 200);
      t(`Added time to first token p50, ${L(bp)}`, `${f0(btt)} us`, '< 100 us', btt < 100);
      const c1 = ratio(g('ns_c1', bp, 'cpu_us_per_req'), g('ns_c1', 'llmgate', 'cpu_us_per_req'));
      const c50 = ratio(g('ns_c50', bp, 'cpu_us_per_req'), g('ns_c50', 'nginx', 'cpu_us_per_req'));
      t(`CPU per request, ${L(bp)}`, `1 connection: ${f1(g('ns_c1', bp, 'cpu_us_per_req'))} us (${c1 == null ? 'n/a' : f2(c1) + 'x'} llmgate without it); 50 connections: ${c50 == null ? 'n/a' : f2(c50) + 'x'} nginx`, 'what the latency costs', null);
    }
    const ev = M.st_c1?.llmgate;
    const s1k = r.streams1k.llmgate;
    if (s1k) t(`${s1k.concurrency} concurrent paced streams`, `${s1k.errors} errors, ${s1k.streams} completed, ${s1k.events_min}-${s1k.events_max} events each`, '0 errors, every event', s1k.errors === 0 && s1k.streams === s1k.concurrency);
    t('Idle RSS', `${mb(r.idle_rss_kb.llmgate)} MB`, '< 10 MB', r.idle_rss_kb.llmgate < 10240);
    if (s1k) t(`RSS with ${s1k.concurrency} concurrent streams (peak)`, `${mb(s1k.peak_rss_kb)} MB`, '< 40 MB', s1k.peak_rss_kb < 40960);
    if (r.soak) t(`RSS flat over the soak (${r.soak.seconds} s)`, `${r.soak.growth_second_vs_last_quarter_pct.toFixed(1)}% growth`, '< 5% (10 min soak: --soak-s 600)', Math.abs(r.soak.growth_second_vs_last_quarter_pct) < 5);
    void ev;
  }
  const ratiosOut = [];
  if (names.includes('llmgate')) {
    for (const base of ['nginx', 'portkey', 'llmgate-nolog']) {
      if (!names.includes(base)) continue;
      const parts = [];
      for (const [id, f, what] of [['ns_c50', 'cpu_us_per_req', 'CPU/request'], ['ns_c50', 'rps', 'req/s at 50 conns'], ['ns_c1', 'p50_us', 'p50 at 1 conn'], ['ns_c1', 'p99_us', 'p99 at 1 conn'], ['st_c50', 'cpu_us_per_event', 'CPU/stream event'], ['st_c1', 'ttft_p50_us', 'TTFT p50']]) {
        const q = ratio(g(id, 'llmgate', f), g(id, base, f));
        if (q != null) parts.push(`${what} ${f2(q)}x`);
      }
      ratiosOut.push(`- llmgate / ${L(base)}: ${parts.join(', ')}; idle RSS ${f2(ratio(r.idle_rss_kb.llmgate, r.idle_rss_kb[base]))}x.`);
    }
    if (names.includes('llmgate-vkey')) {
      const parts = [];
      for (const [base, what] of [['nginx', L('nginx')], ['llmgate', 'the master key']]) {
        if (!names.includes(base)) continue;
        const cpu = ratio(g('ns_c50', 'llmgate-vkey', 'cpu_us_per_req'), g('ns_c50', base, 'cpu_us_per_req'));
        const rps = ratio(g('ns_c50', 'llmgate-vkey', 'rps'), g('ns_c50', base, 'rps'));
        if (cpu != null) parts.push(`against ${what}: CPU/request ${f2(cpu)}x, req/s at 50 conns ${f2(rps)}x`);
      }
      if (parts.length) ratiosOut.push(`- llmgate with a virtual key (ledger on), ${parts.join('; ')}.`);
    }
    if (names.includes('portkey')) {
      const q = ratio(g('ns_c50', 'portkey', 'cpu_us_per_req'), g('ns_c50', 'llmgate', 'cpu_us_per_req'));
      if (q != null) ratiosOut.push(`- Portkey spends ${f1(q)}x the CPU per non-streaming request that llmgate spends.`);
    }
  }
  out.push('### Targets (issue 5)', '', '| target | measured | goal | |', '|---|---|---|---|', ...rows, '');
  if (ratiosOut.length) out.push('### Ratios', '', ...ratiosOut, '');
  if (r.profile?.runs) {
    out.push(`### Profile of llmgate's request path (${r.profile.tool})`, '');
    for (const [id, p] of Object.entries(r.profile.runs)) {
      out.push(`${SCENARIOS[id]}, ${p.seconds} s, top symbols (self time; % of llmgate's samples):`, '', '```', ...p.top_symbols.slice(0, 20), '```', '', 'By shared object:', '', '```', ...p.by_dso, '```', '');
    }
  }
  out.push('Charts: ' + CHARTS.map((c) => `[${c.file}](${c.file})`).join(', '), '');
  return out.join('\n');
}

const CHARTS = [
  { file: 'rps_ns_c50.png', title: 'Throughput, non-streaming, 50 connections (req/s, higher is better)', data: (r) => series(r, 'ns_c50', ['rps']) },
  { file: 'latency_ns_c1.png', title: 'Latency, non-streaming, 1 connection (us, log scale)', log: true, data: (r) => series(r, 'ns_c1', ['p50_us', 'p90_us', 'p99_us']) },
  { file: 'cpu_per_request.png', title: 'Server CPU per non-streaming request (us, log scale)', log: true, data: (r) => multi(r, [['ns_c1', 'cpu_us_per_req', '1 conn'], ['ns_c50', 'cpu_us_per_req', '50 conns']]) },
  { file: 'ttft_st_c1.png', title: 'Streaming time to first token, 1 connection (us, log scale)', log: true, data: (r) => series(r, 'st_c1', ['ttft_p50_us', 'ttft_p99_us']) },
  { file: 'cpu_per_event.png', title: 'Server CPU per streamed SSE event, 50 concurrent streams (us, log scale)', log: true, data: (r) => series(r, 'st_c50', ['cpu_us_per_event']) },
  { file: 'memory.png', title: 'RSS (MB): idle, and peak with many concurrent streams', data: (r) => {
    const names = Object.keys(r.idle_rss_kb).filter((n) => n !== 'direct');
    return { cols: ['idle', 'concurrent streams'], rows: names.map((n) => [n, (r.idle_rss_kb[n] || 0) / 1024, (r.streams1k[n]?.peak_rss_kb || 0) / 1024]) };
  } },
  { file: 'startup.png', title: 'Startup to ready (ms, log scale)', log: true, data: (r) => ({ cols: ['ms'], rows: Object.entries(r.startup).map(([n, v]) => [n, v]) }) },
  { file: 'soak_rss.png', line: true, title: 'llmgate RSS during the soak (MB)', data: (r) => (r.soak ? { rows: r.soak.samples.map(([t, kb, anon, file]) => [t, kb / 1024, (anon ?? 0) / 1024, (file ?? 0) / 1024]) } : null) },
];
function series(r, id, fields) {
  const M = r.medians[id] || {};
  return { cols: fields.map((f) => f.replace(/_us$/, '').replace('cpu_us_per_', 'per ')), rows: Object.keys(M).map((n) => [n, ...fields.map((f) => M[n][f] ?? 0)]) };
}
function multi(r, specs) {
  const names = Object.keys(r.medians[specs[0][0]] || {});
  return { cols: specs.map((s) => s[2]), rows: names.map((n) => [n, ...specs.map(([id, f]) => r.medians[id]?.[n]?.[f] ?? 0)]) };
}

export function writeCharts(r, outDir, tmp = os.tmpdir()) {
  if (spawnSync('gnuplot', ['--version']).status !== 0) { console.error('gnuplot not found: no charts'); return []; }
  const written = [];
  for (const c of CHARTS) {
    const d = c.data(r);
    if (!d || !d.rows.length) continue;
    const dat = path.join(tmp, c.file + '.dat');
    const png = path.join(outDir, c.file);
    let script;
    if (c.line) {
      fs.writeFileSync(dat, d.rows.map((x) => x.join(' ')).join('\n') + '\n');
      script = `set terminal pngcairo noenhanced size 900,420 font "Sans,10"\nset output '${png}'\nset title "${c.title}"\nset xlabel "seconds"\nset grid\nset yrange [0:*]\nplot '${dat}' using 1:2 with lines lw 2 title 'RSS', '' using 1:3 with lines lw 1 title 'anonymous', '' using 1:4 with lines lw 1 title 'file-backed'\n`;
    } else {
      fs.writeFileSync(dat, d.rows.map((x) => [`"${labelOf(r, x[0])}"`, ...x.slice(1).map((v) => (v > 0 ? v : (c.log ? 'NaN' : 0)))].join(' ')).join('\n') + '\n');
      const plots = d.cols.map((col, i) => `'${dat}' using ${i + 2}:xtic(1) title '${col}'`).join(', ');
      const labels = d.cols.map((col, i) => { const w = 0.8 / d.cols.length; const off = -0.4 + w * (i + 0.5);
        return `'${dat}' using ($0+${off.toFixed(3)}):${i + 2}:(sprintf("%.${c.log ? 0 : 1}f",$${i + 2})) with labels offset 0,0.6 font ",8" notitle`; }).join(', ');
      script = `set terminal pngcairo noenhanced size 900,420 font "Sans,10"\nset output '${png}'\nset title "${c.title}"\nset style data histogram\nset style histogram cluster gap 1\nset style fill solid 0.8 border -1\nset boxwidth 0.9\nset grid ytics\nset key top left\nset xtics nomirror rotate by 20 right\nset bmargin 6\n${c.log ? 'set logscale y\n' : 'set yrange [0:*]\n'}set offsets 0,0,graph 0.08,0\nplot ${plots}, ${labels}\n`;
    }
    const g = spawnSync('gnuplot', [], { input: script });
    if (g.status === 0) written.push(c.file); else console.error(`gnuplot ${c.file}: ${g.stderr}`);
  }
  return written;
}

export function writeReports(r, { out, docs, tmp }) {
  const md = buildMarkdown(r);
  fs.writeFileSync(path.join(out, 'latest.md'), `# llmgate benchmark: latest run\n\nGenerated by bench/harness.mjs (command: \`make bench\`). See docs/performance.md for how to read it.\n\n${md}`);
  writeCharts(r, out, tmp);
  if (docs && fs.existsSync(docs)) {
    const doc = fs.readFileSync(docs, 'utf8');
    const a = doc.indexOf('<!-- bench:begin -->'), b = doc.indexOf('<!-- bench:end -->');
    if (a >= 0 && b > a) {
      const md2 = md.replace(/\]\((\w+\.png)\)/g, '](../bench/results/$1)');
      fs.writeFileSync(docs, doc.slice(0, a) + '<!-- bench:begin -->\n<!-- generated by bench/harness.mjs from bench/results/latest.json; do not edit by hand -->\n\n' + md2 + '\n' + doc.slice(b));
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = process.argv[2] || path.join(here, 'results/latest.json');
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  writeReports(r, { out: path.dirname(file), docs: process.argv.includes('--no-docs') ? null : path.join(here, '../docs/performance.md') });
  console.log('wrote', path.join(path.dirname(file), 'latest.md'));
}
