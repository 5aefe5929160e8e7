// The before/after images of a run as one table per statement: rows matched by their key
// columns, changed cells highlighted with the old value struck through above the new one, rows
// only before (deleted) or only after (inserted) marked as such. NULL is shown as a NULL badge,
// distinct from the text "NULL".
import { el } from './dom.js';

function cell(value) {
  if (value === null || value === undefined) {
    return el('span', { className: 'null' }, 'NULL');
  }
  return el('span', { className: 'value' }, String(value));
}

function keyOf(row, keyIndexes) {
  return JSON.stringify(keyIndexes.map((i) => row[i]));
}

export function renderStatementDiff(statement) {
  const columns = statement.columns || [];
  const keys = statement.key_columns || [];
  let keyIndexes = keys.map((k) => columns.indexOf(k)).filter((i) => i >= 0);
  if (keyIndexes.length === 0) {
    keyIndexes = columns.map((_, i) => i);
  }
  const before = new Map();
  for (const row of statement.before || []) {
    before.set(keyOf(row, keyIndexes), row);
  }
  const rows = [];
  const seen = new Set();
  for (const row of statement.after || []) {
    const key = keyOf(row, keyIndexes);
    seen.add(key);
    rows.push({ before: before.get(key), after: row });
  }
  for (const [key, row] of before) {
    if (!seen.has(key)) {
      rows.push({ before: row, after: undefined });
    }
  }

  const head = el('tr', {}, el('th', { className: 'change' }, ''),
    columns.map((c) => el('th', { className: keys.includes(c) ? 'key' : '' }, c)));
  const body = rows.map(({ before: b, after: a }) => {
    const kind = !b ? 'inserted' : !a ? 'deleted' : 'updated';
    const cells = columns.map((_, i) => {
      if (kind !== 'updated') {
        return el('td', {}, cell((a || b)[i]));
      }
      if (b[i] === a[i]) {
        return el('td', {}, cell(a[i]));
      }
      return el('td', { className: 'changed', title: 'changed' },
        el('del', {}, cell(b[i])), el('ins', {}, cell(a[i])));
    });
    return el('tr', { className: `row-${kind}` }, el('td', { className: 'change' }, kind), cells);
  });
  const changedCells = rows.filter((r) => r.before && r.after)
    .reduce((n, r) => n + columns.filter((_, i) => r.before[i] !== r.after[i]).length, 0);

  // A closure table: written by the statement, or only by triggers, foreign keys and rules.
  const title = statement.causes
    ? [el('code', {}, statement.table),
      statement.append_only ? el('span', { className: 'badge' }, ' append-only, never reverted') : null,
      statement.indirect ? el('span', { className: 'badge' }, ' indirect') : null,
      el('span', { className: 'muted' }, ` · written by ${statement.causes.join('; ')}`)]
    : [`Statement ${statement.index} · `, el('code', {}, statement.table)];
  return el('div', { className: 'statement-diff' },
    el('h4', {}, ...title,
      el('span', { className: 'muted' },
        ` · ${rows.length} row${rows.length === 1 ? '' : 's'}, ${changedCells} changed cell${changedCells === 1 ? '' : 's'}`)),
    statement.truncated ? el('p', { className: 'muted' }, 'Only the first rows are shown; the counts and digests cover all of them.') : null,
    el('div', { className: 'scroll' }, el('table', { className: 'grid diff' }, el('thead', {}, head), el('tbody', {}, body))));
}

export function renderVerify(verify) {
  if (!Array.isArray(verify) || verify.length === 0) {
    return null;
  }
  return el('div', { className: 'verify' }, el('h4', {}, 'Verify queries'),
    verify.map((v) => el('div', { className: 'scroll' },
      el('table', { className: 'grid' },
        el('thead', {}, el('tr', {}, (v.columns || []).map((c) => el('th', {}, c)))),
        el('tbody', {}, (v.rows || []).map((r) => el('tr', {}, r.map((x) => el('td', {}, cell(x))))))))));
}
