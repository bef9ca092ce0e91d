// Small DOM helpers that the console's modules import. Server data is only ever set as
// text (textContent or attribute values), never parsed as HTML.

// el('button', { text: '发送', className: 'primary', onclick: fn, hidden: true }, [children])
export function el(tag, props, children) {
  var node = document.createElement(tag);
  Object.keys(props || {}).forEach(function (key) {
    var value = props[key];
    if (value === undefined || value === null || value === false) return;
    if (key === 'text') node.textContent = value;
    else if (key === 'className') node.className = value;
    else if (key === 'onclick') node.addEventListener('click', value);
    else if (key === 'hidden') node.hidden = true;
    else node.setAttribute(key, value === true ? '' : String(value));
  });
  (children || []).forEach(function (child) {
    if (child === null || child === undefined) return;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  });
  return node;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function pad(n) { return (n < 10 ? '0' : '') + n; }

// "2026-11-22 10:05" in the agent's local time (with ":07" seconds when asked); '' if invalid.
export function localTime(iso, withSeconds) {
  var date = new Date(iso);
  if (isNaN(date.getTime())) return '';
  return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + ' ' +
    pad(date.getHours()) + ':' + pad(date.getMinutes()) + (withSeconds ? ':' + pad(date.getSeconds()) : '');
}
