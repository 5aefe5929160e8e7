// A request's history in plain words, with times: the audit trail's entries of the request and
// its conversation (comments and requests for changes), from /api/requests/{n}/timeline. The
// ledger keeps both, so the page shows the same history after a reload; live events only tell
// the page to read it again.
import { el, personName } from './dom.js';

// "run=3 counts=1,2" -> {run: '3', counts: '1,2'}
function detailOf(entry) {
  const fields = {};
  for (const part of String(entry.detail || '').split(' ')) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      fields[part.slice(0, eq)] = part.slice(eq + 1);
    }
  }
  return fields;
}

const runWords = {
  preview: ['previewed', 'started a preview'],
  apply: ['applied', 'started applying'],
  revert: ['reverted', 'started reverting'],
};

// The sentence for one audit entry (without the actor, who is named before it), or null for
// bookkeeping people need not see (a renewed lease, a COMMIT about to be sent).
export function describe(entry) {
  const d = detailOf(entry);
  const env = entry.environment ? ` in ${entry.environment}` : '';
  const run = d.run ? ` (run #${d.run})` : '';
  const [kind, outcome] = String(entry.action).split('.');
  if (runWords[kind]) {
    switch (outcome) {
      case 'started':
        return `${runWords[kind][1]}${env}${run}`;
      case 'succeeded':
      case 'committed':
        return `${runWords[kind][0]}${env}${run}${d.counts ? `, rows per statement: ${d.counts}` : ''}`;
      case 'failed':
        return `${kind}${env} failed and was rolled back${run}`;
      case 'in_doubt':
        return `${kind}${env} is in doubt: COMMIT was sent, its outcome is not known${run}`;
      case 'rolled_back':
        return `${kind}${env} was found not committed${run}`;
      case 'in_flight':
        return null;
      default:
        break;
    }
  }
  switch (entry.action) {
    case 'request.created':
      return 'filed the request';
    case 'claim.taken':
      return 'started driving the request';
    case 'claim.renewed':
      return null;
    case 'claim.released':
      return 'stopped driving the request';
    case 'claim.handed_over':
      return 'handed the request to another developer';
    case 'pair.joined':
      return 'joined as the pair';
    case 'pair.left':
      return 'left as the pair';
    case 'revision.attached':
      return `attached revision r${d.revision || '?'}`;
    case 'evidence.approved':
      return `approved the evidence${env}${d.revision ? ` of revision r${d.revision}` : ''}`;
    case 'production.approved':
      return `approved${env}${d.revision ? ` for revision r${d.revision}` : ''}`;
    case 'revert.approved':
      return `approved reverting${env}`;
    case 'backup.recorded':
      return `recorded a ${d.verified === 'true' ? 'verified ' : ''}backup${env}`;
    case 'request.cancelled':
      return 'cancelled the request';
    case 'request.done':
      return 'finished the request: production is applied';
    case 'comment.added':
      return 'commented';
    case 'changes.requested':
      return `requested changes${d.revision ? ` on revision r${d.revision}` : ''}; the request is back with its driver`;
    default:
      return entry.action.replace(/[._]/g, ' ');
  }
}

// "30 Nov 2026, 18:09" in the reader's time zone, with the exact time in the title.
export function when(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) {
    return el('time', {}, iso || '');
  }
  return el('time', { dateTime: iso, title: iso },
    t.toLocaleString(undefined, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }));
}

function actorName(actor) {
  return actor === 'system' ? 'datafix' : personName(actor);
}

// The list, newest first. `data`: {entries, comments} from the timeline route.
export function renderTimeline(data) {
  const comments = new Map((data.comments || []).map((c) => [String(c.number), c]));
  const items = [];
  for (const entry of data.entries || []) {
    const words = describe(entry);
    if (!words) {
      continue;
    }
    const comment = /^(comment\.added|changes\.requested)$/.test(entry.action)
      ? comments.get(detailOf(entry).comment) : null;
    items.push(el('li', {
      className: `timeline-${entry.action.replace(/[^a-z]/g, '-')}`,
      dataset: { action: entry.action },
    },
    el('div', { className: 'timeline-head' }, when(entry.at), ' ',
      el('strong', {}, actorName(entry.actor)), ` ${words}`),
    comment ? el('blockquote', { className: comment.kind === 'changes_requested' ? 'comment changes' : 'comment' },
      comment.text) : null));
  }
  items.reverse();
  if (items.length === 0) {
    return el('p', { className: 'muted' }, 'Nothing has happened yet.');
  }
  return el('ol', { className: 'timeline', id: 'timeline-list' }, items);
}
