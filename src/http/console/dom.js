// A tiny element builder. Text always goes in as text nodes (never HTML): customer messages are
// untrusted, and nothing in the console parses markup from data.

/**
 * h('p', { class: 'x', title: 't', dataset: { id: '1' }, on: { click } }, 'text', child, ...)
 * Attribute values are set with setAttribute; `null`/`false` attributes and children are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'on') for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children with text (textContent never parses HTML). */
export function setText(el, text) {
  el.textContent = text ?? '';
}

export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

/** Says something to screen-reader users through the page's polite live region. */
export function announce(text) {
  const el = $('announcer');
  // Clearing first makes a repeated sentence be read again.
  el.textContent = '';
  setTimeout(() => setText(el, text), 50);
}

export function setView(view) {
  document.body.dataset.view = view;
}
