// Building the page from data. Every value from the API becomes a text node (textContent); no
// string of data is ever parsed as HTML, so a value such as "<img onerror=...>" shows as itself.

// el('td', {className: 'x', title: 'y'}, 'text', childNode, ...): null and undefined children
// are skipped; strings and numbers become text nodes.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (key === 'onclick' || key === 'onsubmit' || key === 'onchange') {
      node.addEventListener(key.slice(2), value);
    } else if (key in node && key !== 'href') {
      node[key] = value;
    } else {
      node.setAttribute(key, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(node, child);
    } else if (child instanceof Node) {
      node.appendChild(child);
    } else {
      node.appendChild(document.createTextNode(String(child)));
    }
  }
}

export function clear(node) {
  while (node.firstChild) {
    node.removeChild(node.firstChild);
  }
}

// A link only for http(s) addresses; anything else (javascript:, data:) stays text.
export function link(address, text = address) {
  if (typeof address === 'string' && /^https?:\/\//i.test(address)) {
    return el('a', { href: address, rel: 'noopener noreferrer', target: '_blank' }, text);
  }
  return document.createTextNode(address || '—');
}

export function personName(ref) {
  if (!ref) {
    return '—';
  }
  return ref.name || ref.email || `user ${ref.id}`;
}

// A hash shown short, with the whole of it in the title and for copying.
export function hash(value, length = 12) {
  if (!value) {
    return el('span', { className: 'muted' }, '—');
  }
  return el('code', { className: 'hash', title: value }, value.slice(0, length));
}

export function badge(text, kind = text) {
  return el('span', { className: `badge badge-${String(kind).replace(/[^a-z_-]/gi, '')}` }, text);
}
