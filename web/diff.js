// The before/after images of a run: its summary in sentences, then one paged table per
// statement or closure table, rows named by their display key and matched by their key columns,
// changed cells highlighted with the old value struck through above the new one (quietly for
// columns triggers maintain), rows only before (deleted) or only after (inserted) marked as such.
// NULL is shown as a NULL badge, distinct from the text "NULL".
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

// Rows per page of a table's diff: a 40-row change is a summary and two short pages, not a
// page one scrolls for minutes.
export const PAGE_SIZE = 20;

function matchRows(statement, keyIndexes) {
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
  return rows;
}

// The name of a row as people know it: the table's display key (an application number) when
// datafix.toml names one, else its key columns ("id 17").
function rowName(columns, displayIndexes, configured, row) {
  return displayIndexes.map((i) => {
    const v = row[i] === null || row[i] === undefined ? 'NULL' : String(row[i]);
    return configured ? v : `${columns[i]} ${v}`;
  }).join(', ');
}

// One table (a statement's or a closure table's) as a paged diff. `quietColumns`: columns a
// trigger maintains (updated_at, updated_by): their changes are shown, but not highlighted like
// the change itself.
export function renderStatementDiff(statement, quietColumns = new Set()) {
  const columns = statement.columns || [];
  const keys = statement.key_columns || [];
  let keyIndexes = keys.map((k) => columns.indexOf(k)).filter((i) => i >= 0);
  if (keyIndexes.length === 0) {
    keyIndexes = columns.map((_, i) => i);
  }
  const display = statement.display_key || keys;
  const displayIndexes = display.map((k) => columns.indexOf(k)).filter((i) => i >= 0);
  const configured = displayIndexes.length > 0 && display.join() !== keys.join();
  const nameIndexes = displayIndexes.length > 0 ? displayIndexes : keyIndexes;
  const rows = matchRows(statement, keyIndexes);

  const quietTable = Boolean(statement.indirect);
  const head = el('tr', {}, el('th', { className: 'row-name' }, configured ? display.join(', ') : 'row'),
    columns.map((c) => el('th', { className: [keys.includes(c) ? 'key' : '', quietColumns.has(c) ? 'quiet-col' : ''].join(' ').trim() }, c)));
  const renderRow = ({ before: b, after: a }) => {
    const kind = !b ? 'inserted' : !a ? 'deleted' : 'updated';
    const cells = columns.map((c, i) => {
      if (kind !== 'updated') {
        return el('td', {}, cell((a || b)[i]));
      }
      if (b[i] === a[i]) {
        return el('td', {}, cell(a[i]));
      }
      const quiet = quietTable || quietColumns.has(c);
      return el('td', { className: quiet ? 'changed quiet' : 'changed', title: quiet ? 'set by a trigger' : 'changed' },
        el('del', {}, cell(b[i])), el('ins', {}, cell(a[i])));
    });
    return el('tr', { className: `row-${kind}` },
      el('th', { className: 'row-name', scope: 'row' }, rowName(columns, nameIndexes, configured, a || b),
        el('span', { className: 'change' }, ` ${kind}`)),
      cells);
  };
  const changedCells = rows.filter((r) => r.before && r.after)
    .reduce((n, r) => n + columns.filter((c, i) => !quietColumns.has(c) && r.before[i] !== r.after[i]).length, 0);

  const body = el('tbody', {});
  const pager = el('div', { className: 'pager' });
  let pageNumber = 0;
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const showPage = () => {
    clearNode(body);
    for (const r of rows.slice(pageNumber * PAGE_SIZE, (pageNumber + 1) * PAGE_SIZE)) {
      body.appendChild(renderRow(r));
    }
    clearNode(pager);
    if (pages > 1) {
      const first = pageNumber * PAGE_SIZE + 1;
      const last = Math.min(rows.length, (pageNumber + 1) * PAGE_SIZE);
      pager.appendChild(el('button', {
        type: 'button', className: 'quiet', disabled: pageNumber === 0, dataset: { testid: 'page-previous' },
        onclick: () => { pageNumber -= 1; showPage(); },
      }, '← Previous'));
      pager.appendChild(el('span', { className: 'muted page-of' }, ` rows ${first}–${last} of ${rows.length} `));
      pager.appendChild(el('button', {
        type: 'button', className: 'quiet', disabled: pageNumber >= pages - 1, dataset: { testid: 'page-next' },
        onclick: () => { pageNumber += 1; showPage(); },
      }, 'Next →'));
    }
  };
  showPage();

  // A closure table: written by the statement, or only by triggers, foreign keys and rules.
  const title = statement.causes
    ? [el('code', {}, statement.table),
      statement.append_only ? el('span', { className: 'badge' }, ' append-only, never reverted') : null,
      statement.indirect ? el('span', { className: 'badge' }, ' written by triggers') : null,
      el('span', { className: 'muted' }, ` · written by ${statement.causes.join('; ')}`)]
    : [`Statement ${statement.index} · `, el('code', {}, statement.table)];
  const heading = el('h4', {}, ...title,
    el('span', { className: 'muted' },
      ` · ${rows.length} row${rows.length === 1 ? '' : 's'}, ${changedCells} changed cell${changedCells === 1 ? '' : 's'}`));
  const parts = [
    statement.truncated ? el('p', { className: 'muted' }, 'Only the first rows are shown; the summary, counts and digests cover all of them.') : null,
    el('div', { className: 'scroll' }, el('table', { className: 'grid diff' }, el('thead', {}, head), body)),
    pager];
  // What only triggers wrote (an audit log) is there to look at, folded: it is not the change.
  if (quietTable) {
    return el('details', { className: 'statement-diff quiet-table', dataset: { table: statement.table } },
      el('summary', {}, heading), ...parts);
  }
  return el('div', { className: 'statement-diff', dataset: { table: statement.table } }, heading, ...parts);
}

function clearNode(node) {
  while (node.firstChild) {
    node.removeChild(node.firstChild);
  }
}

// The run's summary in sentences: the change itself first, then (quietly) what triggers keep up
// to date. `summary`: the images route's `summary`.
export function renderSummary(summary, testid = 'summary') {
  const sentences = (summary && summary.sentences) || [];
  if (sentences.length === 0) {
    return el('p', { className: 'muted', dataset: { testid } }, 'This run changed no rows.');
  }
  const loud = sentences.filter((s) => !s.quiet);
  const quiet = sentences.filter((s) => s.quiet);
  return el('div', { className: 'summary', dataset: { testid } },
    el('ul', { className: 'sentences' }, loud.map((s) => el('li', { className: 'sentence' }, s.text))),
    quiet.length > 0 ? el('details', { className: 'quiet-sentences' },
      el('summary', {}, `Also kept up to date by triggers (${quiet.length})`),
      el('ul', {}, quiet.map((s) => el('li', { className: 'sentence quiet' }, s.text)))) : null);
}

// Quiet columns per table, from the summary.
export function quietColumnsOf(summary) {
  const out = new Map();
  for (const t of (summary && summary.tables) || []) {
    out.set(t.table, new Set(t.quiet_columns || []));
  }
  return out;
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
