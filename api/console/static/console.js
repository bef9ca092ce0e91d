// Kefu agent console: the shell (tabs, API client, live events) and the escalation queue
// with its case view. Tickets, analytics and the knowledge panel live in their own files
// (ES modules imported below) and render into the containers this file gives them.
//
// Everything that comes from the server is set with textContent, never parsed as HTML.

import { el, clear, localTime } from './dom.js';
import * as tickets from './tickets.js';
import * as analytics from './analytics.js';
import * as knowledge from './knowledge.js';

var CHANNELS = { web: '网页', wechat: '微信' };
var ROLES = { user: '用户', bot: '机器人', agent: '客服', system: '系统' };
var STATUSES = { waiting: '等待接入', assigned: '处理中', resolved: '已解决' };
// A case the user closed while waiting (「不用人工了」): nobody solved it.
var WITHDRAWN = '用户已取消';

function statusLabel(escalation) {
  if (escalation.withdrawn) return WITHDRAWN;
  return STATUSES[escalation.status] || escalation.status;
}
var STATES = { bot: '机器人服务中', waiting_agent: '等待人工', agent: '人工服务中' };

/* ------------------------------------------------------------------ helpers */

function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return seconds + ' 秒';
  var minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + ' 分钟';
  var hours = Math.floor(minutes / 60);
  if (hours < 48) return hours + ' 小时' + (minutes % 60 ? ' ' + (minutes % 60) + ' 分' : '');
  return Math.floor(hours / 24) + ' 天';
}

/* ---------------------------------------------------------------------- api */

var api = { me: null };

function request(method, path, body) {
  var headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && api.me) headers['X-CSRF-Token'] = api.me.csrf_token;
  return fetch(path, {
    method: method,
    headers: headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body)
  }).then(function (response) {
    if (response.status === 401) {
      window.location.replace('/agent');  // the session ended: back to the login form
      throw new Error('登录已过期，请重新登录。');
    }
    if (response.status === 204) return null;
    var type = response.headers.get('Content-Type') || '';
    var parsed = type.indexOf('json') >= 0 ? response.json() : response.text();
    return parsed.then(function (data) {
      if (!response.ok) {
        var detail = data && data.detail;
        var error = new Error(typeof detail === 'string' ? detail : '操作失败（' + response.status + '）');
        error.status = response.status;
        error.errors = (data && data.errors) || [];  // e.g. every file:line of a bad FAQ
        throw error;
      }
      return data;
    });
  }, function () { throw new Error('网络异常，请检查连接后重试。'); });
}

api.get = function (path) { return request('GET', path); };
api.send = function (method, path, body) { return request(method, path, body === undefined ? {} : body); };

function toast(message, kind) {
  var box = el('div', { className: 'toast ' + (kind || 'error'), role: 'alert', text: message });
  document.body.appendChild(box);
  setTimeout(function () { if (box.parentNode) box.parentNode.removeChild(box); }, 5000);
}

/* -------------------------------------------------------------------- shell */

var main = document.getElementById('console');
var nav = document.querySelector('.tabs');
var panels = {};
var tabs = [
  { id: 'queue', title: '会话队列', render: renderQueuePanel },
  { id: 'tickets', title: '工单', render: function (panel) { tickets.render(panel, api); } },
  { id: 'analytics', title: '数据分析', render: function (panel) { analytics.render(panel, api); } },
  { id: 'knowledge', title: '知识库', render: function (panel) { knowledge.render(panel, api); } }
];

function showTab(id) {
  tabs.forEach(function (tab) {
    var panel = panels[tab.id];
    var active = tab.id === id;
    tab.button.setAttribute('aria-selected', active ? 'true' : 'false');
    tab.button.classList.toggle('active', active);
    if (!panel) return;
    panel.hidden = !active;
    if (active && !panel.rendered) {
      panel.rendered = true;
      tab.render(panel);
    }
  });
  if (window.location.hash !== '#' + id) history.replaceState(null, '', '#' + id);
}

function buildShell() {
  tabs.forEach(function (tab) {
    tab.button = el('button', {
      type: 'button', role: 'tab', text: tab.title, 'data-testid': 'tab-' + tab.id,
      onclick: function () { showTab(tab.id); }
    });
    nav.appendChild(tab.button);
    panels[tab.id] = el('section', { className: 'panel panel-' + tab.id, role: 'tabpanel', hidden: true });
    main.appendChild(panels[tab.id]);
  });
  var who = document.querySelector('.who');
  who.appendChild(el('span', {
    'data-testid': 'agent-name',
    text: api.me.username + (api.me.is_admin ? '（管理员）' : '')
  }));
  who.appendChild(el('button', {
    type: 'button', className: 'link', text: '退出', onclick: function () {
      api.send('POST', '/api/agent/logout').then(function () { window.location.replace('/agent'); },
        function (error) { toast(error.message); });
    }
  }));
  var initial = window.location.hash.replace('#', '');
  showTab(panels[initial] ? initial : 'queue');
}

/* -------------------------------------------------------- queue and cases */

var queue = { filter: 'open', items: [], selected: null, els: {}, caseData: null };

function renderQueuePanel(panel) {
  var filter = el('div', { className: 'filter', role: 'group', 'aria-label': '筛选' });
  [['open', '进行中'], ['resolved', '已解决']].forEach(function (pair) {
    filter.appendChild(el('button', {
      type: 'button', text: pair[1], 'data-filter': pair[0],
      className: pair[0] === queue.filter ? 'chip active' : 'chip',
      onclick: function () {
        queue.filter = pair[0];
        Array.prototype.forEach.call(filter.children, function (b) {
          b.classList.toggle('active', b.getAttribute('data-filter') === pair[0]);
        });
        loadQueue();
      }
    }));
  });
  queue.els.list = el('ul', { className: 'queue', 'data-testid': 'queue', 'aria-live': 'polite' });
  queue.els.empty = el('p', { className: 'muted empty', text: '暂时没有需要处理的会话。', hidden: true });
  queue.els.case = el('div', { className: 'case', 'data-testid': 'case' }, [
    el('p', { className: 'muted empty', text: '从左侧选择一个会话。' })
  ]);
  panel.appendChild(el('div', { className: 'split' }, [
    el('aside', { className: 'queue-column' }, [
      el('h2', { text: '待处理会话' }), filter, queue.els.empty, queue.els.list
    ]),
    queue.els.case
  ]));
  loadQueue();
  setInterval(tickWaiting, 1000);
}

function loadQueue() {
  return api.get('/api/agent/escalations?status=' + queue.filter).then(function (data) {
    queue.items = data.escalations;
    queue.loadedAt = Date.now();
    drawQueue();
    updateTitle();
  }, function (error) { toast(error.message); });
}

function drawQueue() {
  var list = queue.els.list;
  clear(list);
  queue.els.empty.hidden = queue.items.length > 0;
  queue.items.forEach(function (item) {
    var waiting = el('span', { className: 'waiting', 'data-seconds': item.waiting_seconds });
    var flags = [
      el('span', { className: 'badge channel-' + item.channel, text: CHANNELS[item.channel] || item.channel }),
      el('span', { className: 'badge status-' + item.status, text: statusLabel(item) })
    ];
    // Urgent cases (fraud, theft) come first from the API; the badge says why.
    if (item.urgent) flags.unshift(urgentBadge('queue-urgent'));
    if (item.redacted) {
      flags.push(el('span', {
        className: 'badge redacted', text: '含已隐藏信息', 'data-testid': 'queue-redacted',
        title: '用户发送的密码、验证码、卡号等敏感信息已被自动隐藏'
      }));
    }
    var row = el('li', {
      className: 'queue-item' + (item.urgent ? ' urgent' : '') + (queue.selected === item.id ? ' selected' : ''),
      'data-testid': 'queue-item', 'data-id': item.id, tabindex: '0', role: 'button',
      onclick: function () { openCase(item.id); }
    }, [
      el('div', { className: 'row' }, flags.concat([waiting])),
      el('div', { className: 'reason', text: item.reason_label }),
      el('div', { className: 'preview', text: item.last_user_message || '（没有消息）' }),
      item.assigned_to ? el('div', { className: 'muted small', text: '负责人：' + item.assigned_to }) : null
    ]);
    row.addEventListener('keydown', function (e) { if (e.key === 'Enter') openCase(item.id); });
    list.appendChild(row);
  });
  tickWaiting();
}

function urgentBadge(testid) {
  return el('span', {
    className: 'badge urgent', text: '紧急', 'data-testid': testid,
    title: '疑似诈骗、盗用或资金损失，请优先处理'
  });
}

function tickWaiting() {
  var elapsed = queue.loadedAt ? (Date.now() - queue.loadedAt) / 1000 : 0;
  Array.prototype.forEach.call(queue.els.list.querySelectorAll('.waiting'), function (node) {
    var base = parseFloat(node.getAttribute('data-seconds')) || 0;
    var live = queue.filter === 'open' ? elapsed : 0;
    node.textContent = (queue.filter === 'open' ? '已等 ' : '用时 ') + duration(base + live);
  });
}

function updateTitle() {
  var waiting = queue.filter === 'open'
    ? queue.items.filter(function (i) { return i.status === 'waiting'; }).length : 0;
  document.title = (waiting ? '(' + waiting + ') ' : '') + 'Kefu 客服工作台';
}

function openCase(id) {
  queue.selected = id;
  Array.prototype.forEach.call(queue.els.list.children, function (row) {
    row.classList.toggle('selected', String(row.getAttribute('data-id')) === String(id));
  });
  return api.get('/api/agent/escalations/' + id).then(drawCase, function (error) { toast(error.message); });
}

function drawCase(data) {
  queue.caseData = data;
  var box = queue.els.case;
  clear(box);
  var esc = data.escalation;
  var open = esc.status !== 'resolved';
  var mine = esc.assigned_to === api.me.username;

  var actions = el('div', { className: 'actions' });
  if (open && !mine) {
    actions.appendChild(el('button', {
      type: 'button', text: '分配给我', 'data-testid': 'case-assign',
      onclick: function (e) { act(e.target, 'assign'); }
    }));
  }
  if (open) {
    actions.appendChild(el('button', {
      type: 'button', className: 'primary', text: '解决并交还机器人', 'data-testid': 'case-resolve',
      onclick: function (e) { act(e.target, 'resolve'); }
    }));
  }
  box.appendChild(el('header', { className: 'case-head' }, [
    el('div', {}, [
      el('h2', { text: '会话 #' + esc.id }),
      el('div', { className: 'meta' }, [
        esc.urgent ? urgentBadge('case-urgent') : null,
        el('span', { className: 'badge channel-' + esc.channel, text: CHANNELS[esc.channel] || esc.channel }),
        el('span', { className: 'badge status-' + esc.status, 'data-testid': 'case-status', text: statusLabel(esc) }),
        el('span', { className: 'muted', text: STATES[data.conversation.state] || data.conversation.state }),
        data.conversation.user ? el('span', { className: 'muted', text: '用户 ' + data.conversation.user }) : null,
        esc.assigned_to ? el('span', { className: 'muted', text: '负责人 ' + esc.assigned_to }) : null
      ]),
      el('p', { className: 'reason', text: '转人工原因：' + esc.reason_label })
    ]),
    actions
  ]));

  var transcript = el('ol', { className: 'transcript', 'data-testid': 'transcript' });
  data.transcript.forEach(function (message) { transcript.appendChild(messageRow(message)); });
  queue.els.transcript = transcript;

  var reply = null;
  if (open) {
    var input = el('textarea', {
      rows: '3', maxlength: '1000', placeholder: '回复用户（Ctrl+Enter 发送）', 'data-testid': 'reply-input',
      'aria-label': '回复内容'
    });
    var send = el('button', { type: 'submit', className: 'primary', text: '发送', 'data-testid': 'reply-send' });
    reply = el('form', { className: 'reply' }, [input, send]);
    reply.addEventListener('submit', function (e) { e.preventDefault(); sendReply(input, send); });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendReply(input, send); }
    });
  }

  var side = el('aside', { className: 'case-side' }, [
    el('h3', { text: '机器人检索到的答案' }),
    candidatesTable(data.kb_candidates),
    data.last_messages.length ? el('h3', { text: '转人工前用户说' }) : null,
    data.last_messages.length ? el('ul', { className: 'plain' }, data.last_messages.map(function (text) {
      return el('li', { text: text });
    })) : null,
    el('h3', { text: '该用户的工单' }),
    ticketsList(data.tickets)
  ]);

  box.appendChild(el('div', { className: 'case-body' }, [
    el('div', { className: 'conversation' }, [transcript, reply]), side
  ]));
  transcript.scrollTop = transcript.scrollHeight;
}

function messageRow(message) {
  var who = ROLES[message.role] || message.role;
  if (message.role === 'agent' && message.author) who = '客服 ' + message.author;
  var notes = [];
  if (message.redacted) notes.push(el('span', { className: 'badge redacted', text: '已隐藏敏感信息' }));
  if (message.degraded) notes.push(el('span', { className: 'badge', text: '知识库直答' }));
  if (message.delivery === 'failed') {
    notes.push(el('span', {
      className: 'badge failed', text: '未送达', 'data-testid': 'delivery-failed',
      title: '微信拒绝了这条客服消息（例如用户超过 48 小时未互动），用户没有收到'
    }));
  }
  if (message.kb && message.kb.decision) notes.push(kbBadge(message.kb));
  if (message.feedback === 'up') notes.push(el('span', { className: 'badge', text: '👍' }));
  if (message.feedback === 'down') notes.push(el('span', { className: 'badge', text: '👎' }));
  var buttons = (message.buttons || []).length
    ? el('div', { className: 'offered muted small', text: '选项：' + message.buttons.map(function (b) { return b.title; }).join(' ｜ ') })
    : null;
  return el('li', { className: 'msg role-' + message.role, 'data-testid': 'transcript-message', 'data-role': message.role }, [
    el('div', { className: 'msg-head' }, [
      el('span', { className: 'who', text: who }),
      el('time', { className: 'muted small', text: localTime(message.created_at) })
    ].concat(notes)),
    el('div', { className: 'text', text: message.text }),
    buttons
  ]);
}

var DECISIONS = { answer: '知识库回答', clarify: '知识库澄清', fallback: '知识库没有答案' };

// What the bot retrieved for this reply and how sure it was.
function kbBadge(kb) {
  var parts = [DECISIONS[kb.decision] || kb.decision];
  if (kb.faq_id) parts.push((kb.decision === 'answer' ? '' : '最接近 ') + kb.faq_id);
  if (typeof kb.score === 'number') parts.push(kb.score.toFixed(2));
  return el('span', {
    className: 'badge kb-' + kb.decision, 'data-testid': 'transcript-kb', text: parts.join(' · '),
    title: kb.query ? '检索的问题：' + kb.query : null
  });
}

function candidatesTable(candidates) {
  if (!candidates || !candidates.length) return el('p', { className: 'muted', text: '没有候选答案（知识库没有找到相近的问题）。' });
  var body = el('tbody');
  candidates.forEach(function (c) {
    var score = typeof c.score === 'number' ? c.score : null;
    body.appendChild(el('tr', { 'data-testid': 'kb-candidate' }, [
      el('td', { text: c.question || c.faq_id || '' }),
      el('td', { className: 'num' }, [
        el('span', { className: 'score', text: score === null ? '—' : score.toFixed(2) }),
        score === null ? null : el('span', { className: 'bar' }, [
          el('span', { className: 'fill fill-' + Math.max(0, Math.min(10, Math.round(score * 10))) })
        ])
      ])
    ]));
  });
  return el('table', { className: 'candidates' }, [
    el('thead', {}, [el('tr', {}, [el('th', { text: '问题' }), el('th', { text: '置信度' })])]), body
  ]);
}

function ticketsList(tickets) {
  if (!tickets.length) return el('p', { className: 'muted', text: '没有工单。' });
  return el('ul', { className: 'plain tickets-mini', 'data-testid': 'case-tickets' }, tickets.map(function (t) {
    return el('li', {}, [
      el('strong', { text: t.number }), ' ',
      el('span', { className: 'badge', text: t.status_label }), ' ',
      el('span', { className: 'muted', text: t.category + ' · ' + t.description })
    ]);
  }));
}

function act(button, what) {
  var id = queue.caseData.escalation.id;
  button.disabled = true;
  api.send('POST', '/api/agent/escalations/' + id + '/' + what).then(function (data) {
    drawCase(data);
    loadQueue();
    if (what === 'resolve') toast('已解决，会话交还机器人。', 'ok');
  }, function (error) { button.disabled = false; toast(error.message); });
}

function sendReply(input, button) {
  var text = input.value.trim();
  if (!text) { input.focus(); return; }
  var id = queue.caseData.escalation.id;
  button.disabled = true;
  api.send('POST', '/api/agent/escalations/' + id + '/messages', { text: text }).then(function (data) {
    input.value = '';
    if (data.message.delivery === 'failed') toast('微信没有接受这条消息（可能超过 48 小时窗口），消息已保存。');
    return openCase(id);
  }, function (error) { toast(error.message); }).finally(function () { button.disabled = false; input.focus(); });
}

/* ------------------------------------------------------------- live events */

function connectEvents() {
  if (typeof window.EventSource !== 'function') return;
  var source = new EventSource('/api/agent/events');
  function refresh(event) {
    var data = {};
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (!panels.queue.rendered) return;
    loadQueue();
    if (queue.caseData && queue.caseData.escalation.id === data.id) openCase(data.id);
  }
  source.addEventListener('escalation', function (event) {
    refresh(event);
    var data = {};
    try { data = JSON.parse(event.data); } catch (e) { /* the toast below is generic */ }
    if (data.urgent) toast('有新的紧急转人工会话（疑似诈骗或盗用），请优先处理。');
    else toast('有新的转人工会话。', 'ok');
  });
  ['assigned', 'resolved', 'agent_message'].forEach(function (kind) { source.addEventListener(kind, refresh); });
  // A user's message, or the bot's replies to a user still in the queue: into the open case.
  function appendLive(event, many) {
    var data = {};
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (!panels.queue.rendered) return;
    loadQueue();
    var current = queue.caseData;
    if (current && current.conversation.id === data.conversation_id && queue.els.transcript) {
      (many ? data.messages || [] : [data.message]).forEach(function (message) {
        queue.els.transcript.appendChild(messageRow({
          id: message.id, role: message.role, text: message.text, created_at: message.created_at,
          buttons: [], redacted: message.text.indexOf('〔已隐藏〕') >= 0
        }));
      });
      queue.els.transcript.scrollTop = queue.els.transcript.scrollHeight;
    }
  }
  source.addEventListener('user_message', function (event) { appendLive(event, false); });
  source.addEventListener('bot_message', function (event) { appendLive(event, true); });
  source.addEventListener('open', function () { document.body.classList.remove('offline'); });
  source.addEventListener('error', function () { document.body.classList.add('offline'); });
}

/* -------------------------------------------------------------------- start */

api.get('/api/agent/me').then(function (me) {
  api.me = me;
  buildShell();
  connectEvents();
}, function (error) { toast(error.message); });
