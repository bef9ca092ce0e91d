// Shared pieces of the knowledge workspace (知识库 page): its API client, which keeps
// the whole error body (validation issues by field, the 409's changes, the eval gate's
// report), Chinese labels, and small widgets (badges, diffs, issue lists, dialogs).
//
// Everything from the server is set with textContent, never parsed as HTML.

import { el, clear, localTime } from './dom.js';

export var BASE = '/api/agent/kb';

export var STATUS_LABELS = { draft: '草稿', published: '已发布', archived: '已归档' };
export var DECISION_LABELS = { answer: '直接回答', clarify: '澄清（给出选项）', fallback: '兜底（没有答案）' };
export var KIND_LABELS = { added: '新增', changed: '修改', archived: '归档', restored: '恢复', removed: '删除' };
export var ROLE_LABELS = { admin: '管理员', editor: '编辑', agent: '坐席' };
export var ESCALATE_LABELS = { ticket: '建议提交工单', human: '建议转人工' };
export var FIELD_LABELS = {
  id: '条目 ID', category: '分类', question: '标准问题', paraphrases: '相似问法', answer: '回答',
  escalate: '后续建议', status: '状态', tags: '标签', related: '相关问题', owner: '负责人',
  last_reviewed: '最近复核', wechat_answer: '微信短回答', revision: '修订号', file: '文件'
};

// The field an issue is about: "paraphrases[3]" / "paraphrases.3" → "paraphrases".
export function issueField(issue) {
  return String(issue.field || '').split(/[.[]/)[0];
}

export function fieldLabel(field) {
  var base = issueField({ field: field });
  var label = FIELD_LABELS[base] || field || '条目';
  var index = /[.[](\d+)/.exec(String(field || ''));
  return index ? label + '第 ' + (Number(index[1]) + 1) + ' 条' : label;
}

/* ---------------------------------------------------------------- client */

// request(api, 'PUT', '/entries/x', body) → JSON; rejects with an Error whose .status and
// .body carry the server's answer (the console's own client keeps only the message).
export function request(api, method, path, body, raw) {
  var headers = { Accept: 'application/json' };
  if (method !== 'GET' && api.me) headers['X-CSRF-Token'] = api.me.csrf_token;
  var payload;
  if (raw) {
    payload = raw;
    headers['Content-Type'] = 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  return fetch(BASE + path, {
    method: method, headers: headers, credentials: 'same-origin', body: payload
  }).then(function (response) {
    if (response.status === 401) {
      window.location.replace('/agent');
      throw new Error('登录已过期，请重新登录。');
    }
    if (response.status === 204) return null;
    var type = response.headers.get('Content-Type') || '';
    var parsed = type.indexOf('json') >= 0 ? response.json() : response.text();
    return parsed.then(function (data) {
      if (response.ok) return data;
      var detail = data && data.detail;
      var error = new Error(typeof detail === 'string' ? detail : describeStatus(response.status));
      error.status = response.status;
      error.body = data && typeof data === 'object' ? data : {};
      error.issues = error.body.issues || [];
      error.errors = error.body.errors || [];
      throw error;
    });
  }, function () { throw new Error('网络异常，请检查连接后重试。'); });
}

function describeStatus(status) {
  if (status === 403) return '你的角色没有这项权限。';
  if (status === 404) return '要找的内容不存在（可能已被删除）。';
  if (status === 409) return '内容已被别人修改，请刷新后再试。';
  return '操作失败（' + status + '）';
}

/* -------------------------------------------------------------- widgets */

export function statusBadge(status) {
  return el('span', { className: 'badge kbw-status-' + status, text: STATUS_LABELS[status] || status });
}

export function decisionBadge(decision) {
  return el('span', {
    className: 'badge kb-' + decision, 'data-testid': 'kbw-decision', 'data-decision': decision,
    text: DECISION_LABELS[decision] || decision || '—'
  });
}

export function fixed(value, digits) {
  return typeof value === 'number' ? value.toFixed(digits === undefined ? 3 : digits) : '—';
}

export function percent(rate) {
  return typeof rate === 'number' ? (rate * 100).toFixed(1) + '%' : '—';
}

export function when(iso) { return localTime(iso) || '—'; }

// A horizontal bar (width through the CSSOM, which the CSP allows).
export function bar(share) {
  var fill = el('span', { className: 'kbw-bar-fill' });
  fill.style.width = Math.max(0, Math.min(1, share || 0)) * 100 + '%';
  return el('span', { className: 'kbw-bar', 'aria-hidden': 'true' }, [fill]);
}

function shown(value) {
  if (value === null || value === undefined || value === '') return '（空）';
  if (Array.isArray(value)) return value.length ? value.join('、') : '（空）';
  if (value === 'ticket' || value === 'human') return ESCALATE_LABELS[value];
  return String(value);
}

// One field's change: lists show what was added and removed, text shows before → after.
export function changeRow(change) {
  var before = change.before;
  var after = change.after;
  var body;
  if (Array.isArray(before) || Array.isArray(after)) {
    before = before || [];
    after = after || [];
    var added = after.filter(function (item) { return before.indexOf(item) < 0; });
    var removed = before.filter(function (item) { return after.indexOf(item) < 0; });
    body = el('ul', { className: 'kbw-list-diff' },
      added.map(function (item) { return el('li', { className: 'kbw-add' }, [el('span', { className: 'kbw-sign', text: '＋', 'aria-label': '新增' }), item]); })
        .concat(removed.map(function (item) { return el('li', { className: 'kbw-del' }, [el('span', { className: 'kbw-sign', text: '－', 'aria-label': '删除' }), item]); })));
    if (!added.length && !removed.length) body = el('span', { className: 'muted', text: '顺序调整' });
  } else {
    body = el('div', { className: 'kbw-text-diff' }, [
      el('div', { className: 'kbw-del' }, [el('span', { className: 'kbw-sign', text: '原', 'aria-label': '原来' }), shown(before)]),
      el('div', { className: 'kbw-add' }, [el('span', { className: 'kbw-sign', text: '新', 'aria-label': '现在' }), shown(after)])
    ]);
  }
  return el('tr', { 'data-testid': 'kbw-change', 'data-field': change.field }, [
    el('th', { scope: 'row', text: fieldLabel(change.field) }), el('td', {}, [body])
  ]);
}

export function changesTable(changes) {
  if (!changes || !changes.length) return el('p', { className: 'muted small', text: '没有字段变化。' });
  return el('table', { className: 'kbw-changes' }, [el('tbody', {}, changes.map(changeRow))]);
}

// The draft's or a version's entries: kind, question, and the fields that changed.
export function diffList(diffs, onOpen) {
  if (!diffs || !diffs.length) return el('p', { className: 'muted', text: '没有改动。' });
  return el('ul', { className: 'kbw-diff' }, diffs.map(function (diff) {
    var title = onOpen
      ? el('button', { type: 'button', className: 'link', text: diff.question || diff.id, onclick: function () { onOpen(diff.id); } })
      : el('strong', { text: diff.question || diff.id });
    return el('li', { 'data-testid': 'kbw-diff-entry', 'data-id': diff.id }, [
      el('div', { className: 'kbw-diff-head' }, [
        el('span', { className: 'badge kbw-kind-' + diff.kind, text: KIND_LABELS[diff.kind] || diff.kind }),
        title, el('span', { className: 'muted small', text: diff.id })
      ]),
      diff.changes && diff.changes.length ? changesTable(diff.changes) : null
    ]);
  }));
}

// Issues (errors or warnings) as a list: "条目 x · 字段：问题".
export function issueList(issues, kind) {
  return el('ul', { className: 'kbw-issues kbw-issues-' + (kind || 'error'), 'data-testid': 'kbw-issues-' + (kind || 'error') },
    issues.map(function (issue) {
      var where = [];
      if (issue.row !== null && issue.row !== undefined) where.push('第 ' + issue.row + ' 行');
      if (issue.entry) where.push(issue.entry);
      if (issue.field) where.push(fieldLabel(issue.field));
      return el('li', {}, [
        where.length ? el('span', { className: 'kbw-where', text: where.join(' · ') + '：' }) : null,
        issue.message
      ]);
    }));
}

// A modal <dialog>: returns { dialog, body, close }. Esc and 「取消」 close it.
export function modal(title, build) {
  var body = el('div', { className: 'kbw-dialog-body' });
  var heading = el('h2', { text: title, id: 'kbw-dialog-title-' + Date.now() });
  var dialog = el('dialog', { className: 'kbw-dialog', 'aria-labelledby': heading.id }, [heading, body]);
  document.body.appendChild(dialog);
  function close() {
    if (dialog.open) dialog.close();
    if (dialog.parentNode) dialog.parentNode.removeChild(dialog);
  }
  dialog.addEventListener('close', close);
  build(body, close);
  dialog.showModal();
  return { dialog: dialog, body: body, close: close };
}

export function toast(message, kind) {
  var box = el('div', { className: 'toast ' + (kind || 'error'), role: kind === 'ok' ? 'status' : 'alert', text: message });
  document.body.appendChild(box);
  setTimeout(function () { if (box.parentNode) box.parentNode.removeChild(box); }, 6000);
}

export function splitList(text) {
  return String(text || '').split(/[,，、;；\n|]+/).map(function (part) { return part.trim(); })
    .filter(function (part) { return part; });
}

export { el, clear, localTime };
