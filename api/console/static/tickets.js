// Tickets panel of the agent console: filters, the list, and one ticket's detail with its
// timeline, status workflow and internal notes.
//
// render(container, api, options): api.get(path) and api.send(method, path,
// body) return promises of JSON and reject with Error(Chinese message); options.sender_id
// shows only that user's tickets (the case view). Data is only ever set as textContent.

import { el, clear, localTime } from './dom.js';

// How agents call the statuses (the API's status_label is worded for users).
var STATUSES = [
  { value: 'new', label: '新建' },
  { value: 'in_progress', label: '处理中' },
  { value: 'waiting_user', label: '等待用户回复' },
  { value: 'resolved', label: '已解决' },
  { value: 'closed', label: '已关闭' }
];
var CHANNELS = [
  { value: '', label: '全部渠道' },
  { value: 'web', label: '网页' },
  { value: 'wechat', label: '微信' }
];
var EVENT_KINDS = { created: '用户提交了工单', status: '修改状态', note: '内部备注' };
var PAGE_SIZE = 50;
var NOTE_LIMIT = 2000;
var SEARCH_DELAY_MS = 300;

function statusLabel(value) {
  for (var i = 0; i < STATUSES.length; i += 1) {
    if (STATUSES[i].value === value) return STATUSES[i].label;
  }
  return value || '';
}

function channelLabel(value) {
  for (var i = 0; i < CHANNELS.length; i += 1) {
    if (CHANNELS[i].value === value && value) return CHANNELS[i].label;
  }
  return value || '';
}

// 「3 小时」: the largest unit that fits, as an agent would say it.
function age(seconds) {
  seconds = Math.max(0, Math.floor(seconds || 0));
  if (seconds < 60) return '不到 1 分钟';
  if (seconds < 3600) return Math.floor(seconds / 60) + ' 分钟';
  if (seconds < 86400) return Math.floor(seconds / 3600) + ' 小时';
  return Math.floor(seconds / 86400) + ' 天';
}

function badge(status) {
  return el('span', { className: 'badge tk-status tk-status-' + status, text: statusLabel(status) });
}

function query(params) {
  var parts = [];
  Object.keys(params).forEach(function (key) {
    var value = params[key];
    if (value === '' || value === null || value === undefined) return;
    parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(value));
  });
  return parts.length ? '?' + parts.join('&') : '';
}

export function render(container, api, options) {
  options = options || {};
  var senderId = options.sender_id || '';
  var state = { status: '', channel: '', q: '', offset: 0, selectedId: null, total: 0 };
  var listRequest = 0;
  var detailRequest = 0;
  var searchTimer = null;

  clear(container);
  var root = el('section', { className: 'tk-panel' + (senderId ? ' tk-embedded' : '') });
  container.appendChild(root);

  /* ---------------------------------------------------------------- filter bar */

  var chips = el('div', { className: 'tk-chips', role: 'group', 'aria-label': '按状态筛选' });
  var chipButtons = {};
  var chipCounts = {};
  [{ value: '', label: '全部' }].concat(STATUSES).forEach(function (status) {
    var count = el('span', { className: 'tk-count' });
    var button = el('button', {
      type: 'button',
      className: 'chip',
      'data-testid': 'ticket-filter-' + (status.value || 'all'),
      'aria-pressed': 'false'
    }, [status.label + ' ', count]);
    button.addEventListener('click', function () {
      state.status = status.value;
      state.offset = 0;
      load();
    });
    chipButtons[status.value] = button;
    chipCounts[status.value] = count;
    chips.appendChild(button);
  });

  var channel = el('select', { 'aria-label': '渠道', 'data-testid': 'ticket-channel' });
  CHANNELS.forEach(function (item) {
    channel.appendChild(el('option', { value: item.value, text: item.label }));
  });
  channel.addEventListener('change', function () {
    state.channel = channel.value;
    state.offset = 0;
    load();
  });

  var search = el('input', {
    type: 'search',
    placeholder: '搜索工单号、描述、联系方式',
    maxlength: '100',
    'aria-label': '搜索工单',
    'data-testid': 'ticket-search'
  });
  search.addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      state.q = search.value.trim();
      state.offset = 0;
      load();
    }, SEARCH_DELAY_MS);
  });

  var refresh = el('button', { type: 'button', text: '刷新' });
  refresh.addEventListener('click', function () { load(); });

  root.appendChild(el('div', { className: 'tk-filters' }, [
    chips,
    el('div', { className: 'tk-tools' }, senderId ? [refresh] : [channel, search, refresh])
  ]));

  var error = el('p', { className: 'tk-error', role: 'alert', hidden: true });
  root.appendChild(error);

  function showError(node, message) {
    node.textContent = message;
    node.hidden = false;
  }

  /* --------------------------------------------------------------------- list */

  var body = el('tbody');
  var table = el('table', { className: 'tk-table' }, [
    el('thead', {}, [el('tr', {}, [
      el('th', { text: '工单号' }),
      el('th', { text: '分类' }),
      el('th', { text: '状态' }),
      el('th', { text: '已创建' }),
      el('th', { text: '联系方式' })
    ])]),
    body
  ]);
  var summary = el('span', { className: 'muted small' });
  var previous = el('button', { type: 'button', text: '上一页' });
  var next = el('button', { type: 'button', text: '下一页' });
  previous.addEventListener('click', function () {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    load();
  });
  next.addEventListener('click', function () {
    state.offset += PAGE_SIZE;
    load();
  });
  var detail = el('aside', { className: 'tk-detail', 'data-testid': 'ticket-detail', hidden: true });
  root.appendChild(el('div', { className: 'tk-layout' }, [
    el('div', { className: 'tk-list' }, [
      table,
      el('div', { className: 'tk-pager' }, [summary, previous, next])
    ]),
    detail
  ]));

  function row(ticket) {
    var tr = el('tr', {
      className: 'tk-row' + (ticket.id === state.selectedId ? ' selected' : ''),
      tabindex: '0',
      'data-testid': 'ticket-row',
      'data-ticket-id': ticket.id
    }, [
      el('td', { className: 'tk-number', text: ticket.number }),
      el('td', { text: ticket.category }),
      el('td', {}, [badge(ticket.status)]),
      el('td', { title: localTime(ticket.created_at), text: age(ticket.age_seconds) }),
      el('td', { text: ticket.contact })
    ]);
    function open() { openTicket(ticket.id); }
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    return tr;
  }

  function showList(page) {
    clear(body);
    if (!page.tickets.length) {
      body.appendChild(el('tr', {}, [
        el('td', { colspan: '5', className: 'empty muted', text: '没有符合条件的工单' })
      ]));
    }
    page.tickets.forEach(function (ticket) { body.appendChild(row(ticket)); });
    var all = 0;
    STATUSES.forEach(function (status) {
      var count = page.counts[status.value] || 0;
      all += count;
      chipCounts[status.value].textContent = String(count);
    });
    chipCounts[''].textContent = String(all);
    Object.keys(chipButtons).forEach(function (value) {
      var active = value === state.status;
      chipButtons[value].className = 'chip' + (active ? ' active' : '');
      chipButtons[value].setAttribute('aria-pressed', active ? 'true' : 'false');
    });
    state.total = page.total;
    var first = page.total ? state.offset + 1 : 0;
    var last = state.offset + page.tickets.length;
    summary.textContent = '共 ' + page.total + ' 个工单' +
      (page.total > PAGE_SIZE ? '，第 ' + first + '–' + last + ' 个' : '');
    previous.disabled = state.offset === 0;
    next.disabled = last >= page.total;
  }

  function load() {
    var mine = listRequest += 1;
    error.hidden = true;
    var path = '/api/agent/tickets' + query({
      status: state.status,
      channel: state.channel,
      q: state.q,
      sender_id: senderId,
      limit: PAGE_SIZE,
      offset: state.offset
    });
    return api.get(path).then(function (page) {
      if (mine === listRequest) showList(page);  // an older answer must not win
    }, function (failure) {
      if (mine === listRequest) showError(error, failure.message);
    });
  }

  /* ------------------------------------------------------------------- detail */

  function field(label, value) {
    return [el('dt', { text: label }), el('dd', { text: value || '—' })];
  }

  function timeline(events) {
    var list = el('ol', { className: 'tk-timeline', 'data-testid': 'ticket-timeline' });
    events.forEach(function (event) {
      var head = [
        el('span', { className: 'tk-when muted small', text: localTime(event.created_at) }),
        el('span', { className: 'tk-author', text: event.author === 'user' ? '用户' : event.author }),
        el('span', { text: EVENT_KINDS[event.kind] || event.kind })
      ];
      if (event.kind === 'status' && event.status) head.push(badge(event.status));
      var item = el('li', { className: 'tk-event tk-event-' + event.kind }, [
        el('div', { className: 'tk-event-head' }, head)
      ]);
      if (event.note) item.appendChild(el('p', { className: 'tk-note-text', text: event.note }));
      list.appendChild(item);
    });
    return list;
  }

  function editor(ticket) {
    var form = el('form', { className: 'tk-editor' });
    var select = el('select', { 'data-testid': 'ticket-status-select', 'aria-label': '新状态' });
    select.appendChild(el('option', { value: '', text: '保持「' + statusLabel(ticket.status) + '」' }));
    ticket.allowed_statuses.forEach(function (status) {
      select.appendChild(el('option', { value: status, text: '改为「' + statusLabel(status) + '」' }));
    });
    if (!ticket.allowed_statuses.length) select.disabled = true;
    var note = el('textarea', {
      rows: '3',
      maxlength: String(NOTE_LIMIT),
      placeholder: '内部备注（仅客服可见，卡号等敏感信息会自动隐藏）',
      'aria-label': '内部备注',
      'data-testid': 'ticket-note'
    });
    var save = el('button', { type: 'submit', className: 'primary', text: '保存', 'data-testid': 'ticket-save' });
    var message = el('p', { className: 'tk-error', role: 'alert', hidden: true });
    form.appendChild(el('div', { className: 'tk-editor-row' }, [
      el('label', { className: 'muted small', text: ticket.allowed_statuses.length ? '状态' : '已关闭的工单不能再修改状态' }),
      select
    ]));
    form.appendChild(note);
    form.appendChild(el('div', { className: 'tk-editor-row' }, [save, message]));
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      message.hidden = true;
      var change = {};
      if (select.value) change.status = select.value;
      if (note.value.trim()) change.note = note.value.trim();
      if (!change.status && !change.note) {
        showError(message, '请选择新的状态或填写备注。');
        return;
      }
      save.disabled = true;
      api.send('PATCH', '/api/agent/tickets/' + ticket.id, change).then(function (updated) {
        showDetail(updated);
        load();
      }, function (failure) {
        save.disabled = false;
        showError(message, failure.message);
      });
    });
    return form;
  }

  function showDetail(ticket) {
    clear(detail);
    detail.hidden = false;
    var close = el('button', { type: 'button', className: 'link', text: '关闭', 'aria-label': '关闭工单详情' });
    close.addEventListener('click', function () {
      state.selectedId = null;
      detail.hidden = true;
      markSelected();
    });
    detail.appendChild(el('div', { className: 'tk-detail-head' }, [
      el('h2', { text: '工单 ' + ticket.number }),
      badge(ticket.status),
      close
    ]));
    var facts = el('dl', { className: 'tk-facts' });
    []
      .concat(field('分类', ticket.category))
      .concat(field('渠道', channelLabel(ticket.channel)))
      .concat(field('联系方式', ticket.contact))
      .concat(field('交易单号', ticket.transaction_id))
      .concat(field('用户看到的状态', ticket.status_label))
      .concat(field('已创建', age(ticket.age_seconds) + '（' + localTime(ticket.created_at) + '）'))
      .concat(field('最近更新', localTime(ticket.updated_at)))
      .forEach(function (node) { facts.appendChild(node); });
    detail.appendChild(facts);
    detail.appendChild(el('h3', { text: '问题描述' }));
    detail.appendChild(el('p', { className: 'tk-description', text: ticket.description }));
    detail.appendChild(el('h3', { text: '处理记录' }));
    detail.appendChild(timeline(ticket.events));
    detail.appendChild(el('h3', { text: '处理' }));
    detail.appendChild(editor(ticket));
  }

  function markSelected() {
    Array.prototype.forEach.call(body.querySelectorAll('tr.tk-row'), function (tr) {
      var selected = String(state.selectedId) === tr.getAttribute('data-ticket-id');
      tr.className = 'tk-row' + (selected ? ' selected' : '');
    });
  }

  function openTicket(id) {
    var mine = detailRequest += 1;
    state.selectedId = id;
    markSelected();
    return api.get('/api/agent/tickets/' + id).then(function (ticket) {
      if (mine === detailRequest) showDetail(ticket);
    }, function (failure) {
      if (mine === detailRequest) showError(error, failure.message);
    });
  }

  load();
  return { refresh: load, open: openTicket };
}
