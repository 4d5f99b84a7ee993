// The customers of the sandbox number: the list (with previews, unread counts and who handles the
// chat) and the form that adds one.
import { $, setText } from '/console/dom.js';
import { summary } from './bubbles.js';
import { base, customerLabel, errorText, fieldError, state } from './state.js';

const hooks = { open: async () => {} };

/** What a click on a customer does (open its chat). */
export function onOpenCustomer(open) {
  hooks.open = open;
}

export async function loadCustomers() {
  const list = await state.api.get(`${base()}/customers`);
  for (const c of list.data) {
    const known = state.customers.get(c.wa_id);
    state.customers.set(c.wa_id, { ...c, unread: known?.unread ?? 0, last: known?.last ?? c.last_message ?? null });
  }
  renderCustomers();
}

export function renderCustomers() {
  const items = [...state.customers.values()].sort((a, b) => (b.last?.at ?? b.created_at).localeCompare(a.last?.at ?? a.created_at));
  $('customer-list').replaceChildren(
    ...items.map((c) => {
      const mode = c.conversation?.mode;
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'customer';
      button.dataset.waId = c.wa_id;
      if (c.wa_id === state.openWa) button.setAttribute('aria-current', 'true');
      button.addEventListener('click', () => hooks.open(c.wa_id));
      const avatar = Object.assign(document.createElement('span'), { className: 'avatar', textContent: customerLabel(c).replace(/^\+/, '').charAt(0).toUpperCase() });
      avatar.setAttribute('aria-hidden', 'true');
      const name = Object.assign(document.createElement('span'), { className: 'customer-name', textContent: `${customerLabel(c)}${c.name ? ` · +${c.wa_id}` : ''}` });
      const preview = Object.assign(document.createElement('span'), { className: 'customer-preview', textContent: c.last ? summary(c.last) : 'No messages yet' });
      const meta = Object.assign(document.createElement('span'), { className: 'customer-meta' });
      if (mode && mode !== 'bot') meta.append(Object.assign(document.createElement('span'), { className: 'badge', textContent: mode === 'human' ? 'Person' : 'Waiting for a person' }));
      if (mode) meta.lastElementChild?.setAttribute('data-mode', mode);
      if (c.unread > 0) meta.append(Object.assign(document.createElement('span'), { className: 'unread', textContent: String(c.unread), title: `${c.unread} unread` }));
      button.append(avatar, name, meta, preview);
      item.append(button);
      return item;
    }),
  );
  $('customers-empty').hidden = items.length > 0;
}

export function setupNewCustomer() {
  $('new-customer').addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = $('customer-name').value.trim();
    const waId = $('customer-number').value.trim();
    setText($('customer-error'), '');
    if (!name) return fieldError('customer-name', 'customer-error', 'Enter a name.');
    if (!waId) return fieldError('customer-number', 'customer-error', 'Enter a WhatsApp number with its country code.');
    const button = $('customer-add');
    button.disabled = true;
    try {
      const c = await state.api.post(`${base()}/customers`, { name, wa_id: waId });
      state.customers.set(c.wa_id, { ...c, unread: 0, last: state.customers.get(c.wa_id)?.last ?? null });
      $('new-customer').reset();
      renderCustomers();
      await hooks.open(c.wa_id);
    } catch (e) {
      setText($('customer-error'), errorText(e));
    } finally {
      button.disabled = false;
    }
  });
}
