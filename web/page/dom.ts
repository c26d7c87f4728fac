/** Small DOM builders the page's parts share. */

export function element(tag: string, className: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  return node;
}

/** A button that says what it does in `data-action` (what tests and styles look for). */
export function button(action: string, text: string): HTMLButtonElement {
  const node = document.createElement('button');
  node.type = 'button';
  node.dataset.action = action;
  node.textContent = text;
  return node;
}

/** A download link drawn as a button. */
export function downloadLink(action: string, text: string): HTMLAnchorElement {
  const node = document.createElement('a');
  node.className = 'button';
  node.dataset.action = action;
  node.textContent = text;
  node.download = '';
  return node;
}

export function timeInput(role: string): HTMLInputElement {
  const node = document.createElement('input');
  Object.assign(node, { type: 'datetime-local', step: '1' });
  node.dataset.role = role;
  return node;
}

export function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = document.createElement('label');
  label.append(`${text} `, control);
  return label;
}
