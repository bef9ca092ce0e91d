// 知识库 › 候选问法: the learning loop. Candidate paraphrases (a user's question before
// they picked an entry from a clarify list, an agent's suggestion, a 👎 question) are
// reviewed and accepted or rejected in bulk; accepted ones become paraphrases in the
// draft. Below, the unanswered questions (clustered) turn in one click into a
// paraphrase of an entry or a new entry.

import { el, clear, toast, issueList, when } from './kb-common.js';

var SOURCES = { clarify_pick: '澄清后用户的选择', agent: '坐席建议', thumbs_down: '被点踩的问题', unanswered: '未解决的问题' };
var STATUSES = [['pending', '待审核'], ['accepted', '已接受'], ['rejected', '已拒绝']];
var REASONS = { fallback: '未能回答', downvoted: '回答被点踩', mixed: '未能回答或被点踩' };

export function mount(container, ws) {
  var state = { status: 'pending', items: [], chosen: {}, entries: [] };
  var canEdit = function () { return Boolean(ws.me.can_edit); };

  var statusButtons = STATUSES.map(function (pair) {
    return el('button', {
      type: 'button', className: 'chip', text: pair[1], 'data-testid': 'kbw-candidates-' + pair[0],
      onclick: function () { state.status = pair[0]; load(); }
    });
  });
  var accept = el('button', { type: 'button', className: 'primary', text: '接受所选（加入草稿）', 'data-testid': 'kbw-candidates-accept' });
  var reject = el('button', { type: 'button', text: '拒绝所选', 'data-testid': 'kbw-candidates-reject' });
  var result = el('div', { role: 'status', 'aria-live': 'polite', 'data-testid': 'kbw-candidates-result' });
  var table = el('div', { 'data-testid': 'kbw-candidates' });
  var clusters = el('div', { 'data-testid': 'kbw-unanswered' });

  clear(container);
  container.appendChild(el('div', { className: 'kbw-candidates' }, [
    el('section', { className: 'kb-card' }, [
      el('h3', { text: '候选问法' }),
      el('p', { className: 'muted small', text: '用户在澄清选项里选了某个条目时，他原来的问法会自动成为该条目的候选问法；坐席也可以提出建议。接受后加入草稿，发布后生效。' }),
      el('div', { className: 'kbw-toolbar' }, [
        el('div', { role: 'group', 'aria-label': '候选状态' }, statusButtons),
        el('div', { className: 'kbw-bulk' }, [accept, reject])
      ]),
      result, table
    ]),
    el('section', { className: 'kb-card' }, [
      el('h3', { text: '未解决的问题（最近 30 天）' }),
      el('p', { className: 'muted small', text: '机器人没能回答或回答被点踩的问题，相近的归为一类。可以一键加为某个条目的问法，或据此新建条目。' }),
      clusters
    ])
  ]));

  function chosenIds() {
    return Object.keys(state.chosen).filter(function (id) { return state.chosen[id]; }).map(Number);
  }

  function drawButtons() {
    var count = chosenIds().length;
    var pending = state.status === 'pending';
    accept.hidden = reject.hidden = !canEdit() || !pending;
    accept.disabled = reject.disabled = !count;
    accept.textContent = '接受所选' + (count ? '（' + count + ' 条）' : '') + '，加入草稿';
  }

  function load() {
    statusButtons.forEach(function (button, index) { button.classList.toggle('active', STATUSES[index][0] === state.status); });
    state.chosen = {};
    return ws.get('/candidates?status=' + state.status + '&limit=200').then(function (items) {
      state.items = items;
      draw();
    }, function (error) { clear(table); table.appendChild(el('p', { className: 'kb-bad', text: error.message })); });
  }

  function draw() {
    clear(table);
    drawButtons();
    if (!state.items.length) {
      table.appendChild(el('p', { className: 'muted empty', text: state.status === 'pending' ? '没有待审核的候选问法。' : '没有记录。' }));
      return;
    }
    var selectable = canEdit() && state.status === 'pending';
    var all = el('input', { type: 'checkbox', 'aria-label': '全选', 'data-testid': 'kbw-candidates-all' });
    var boxes = [];
    all.addEventListener('change', function () {
      boxes.forEach(function (box) { box.checked = all.checked; state.chosen[box.value] = all.checked; });
      drawButtons();
    });
    table.appendChild(el('table', { className: 'kbw-candidate-table' }, [
      el('thead', {}, [el('tr', {}, [
        selectable ? el('th', {}, [all]) : null,
        el('th', { text: '问法' }), el('th', { text: '加到条目' }), el('th', { text: '来源' }),
        el('th', { className: 'num', text: '次数' }), el('th', { text: '提出' })
      ])]),
      el('tbody', {}, state.items.map(function (item) {
        var box = null;
        if (selectable) {
          box = el('input', { type: 'checkbox', value: String(item.id), 'aria-label': '选择：' + item.query, 'data-testid': 'kbw-candidate-check' });
          box.addEventListener('change', function () { state.chosen[item.id] = box.checked; drawButtons(); });
          boxes.push(box);
        }
        return el('tr', { 'data-testid': 'kbw-candidate', 'data-id': String(item.id) }, [
          selectable ? el('td', {}, [box]) : null,
          el('td', { text: item.query }),
          el('td', {}, [
            el('button', { type: 'button', className: 'link', text: item.question || '（条目已不存在）', onclick: function () { ws.show('entries', { open: item.faq_id }); } }),
            el('div', { className: 'muted small', text: item.faq_id })
          ]),
          el('td', { text: SOURCES[item.source] || item.source }),
          el('td', { className: 'num', text: String(item.count) }),
          el('td', {}, [el('div', { text: item.created_by }), el('div', { className: 'muted small', text: when(item.created_at) })])
        ]);
      }))
    ]));
  }

  function review(action) {
    var ids = chosenIds();
    if (!ids.length) return;
    accept.disabled = reject.disabled = true;
    clear(result);
    ws.send('POST', '/candidates/review', { ids: ids, action: action }).then(function (done) {
      result.className = 'kb-ok kbw-result';
      result.appendChild(el('p', {
        text: (done.accepted ? '已接受 ' + done.accepted + ' 条，已加入草稿。' : '') + (done.rejected ? '已拒绝 ' + done.rejected + ' 条。' : '') +
          (done.skipped.length ? '跳过 ' + done.skipped.length + ' 条：' : '')
      }));
      if (done.skipped.length) result.appendChild(issueList(done.skipped, 'warning'));
      if (done.accepted) ws.emit('draft');
      return load();
    }, function (error) {
      result.className = 'kb-bad kbw-result';
      result.textContent = error.message;
      drawButtons();
    });
  }
  accept.addEventListener('click', function () { review('accept'); });
  reject.addEventListener('click', function () { review('reject'); });

  /* ------------------------------------------------- unanswered clusters */

  function loadClusters() {
    return Promise.all([
      ws.api.get('/api/agent/analytics?days=30'),
      ws.get('/entries?limit=500')
    ]).then(function (results) {
      state.entries = results[1].items;
      drawClusters(results[0].unanswered || []);
    }, function (error) { clear(clusters); clusters.appendChild(el('p', { className: 'kb-bad', text: error.message })); });
  }

  function drawClusters(list) {
    clear(clusters);
    if (!list.length) {
      clusters.appendChild(el('p', { className: 'muted empty', text: '这段时间没有未解决的问题。' }));
      return;
    }
    list.forEach(function (cluster) {
      var nearest = cluster.nearest_faq;
      var select = el('select', { 'aria-label': '加到哪个条目' }, state.entries.map(function (entry) {
        return el('option', { value: entry.id, text: entry.question + '（' + entry.id + '）' });
      }));
      if (nearest) select.value = nearest.faq_id;
      var queries = el('ul', { className: 'plain' }, cluster.queries.map(function (query) {
        var done = el('span', { className: 'small', role: 'status' });
        var buttons = [];
        if (canEdit()) {
          buttons.push(el('button', {
            type: 'button', className: 'link', text: '加为问法', 'data-testid': 'kbw-learn-paraphrase',
            onclick: function (e) {
              e.target.disabled = true;
              ws.send('POST', '/learn', { query: query, faq_id: select.value }).then(function (entry) {
                done.className = 'small kb-ok';
                done.textContent = '已加入「' + entry.question + '」的草稿';
                ws.emit('draft');
              }, function (error) { e.target.disabled = false; done.className = 'small kb-bad'; done.textContent = error.message; });
            }
          }));
          buttons.push(el('button', {
            type: 'button', className: 'link', text: '新建条目', 'data-testid': 'kbw-learn-new',
            onclick: function () { ws.show('entries', { create: { question: query, paraphrases: [] } }); }
          }));
        } else {
          buttons.push(el('button', {
            type: 'button', className: 'link', text: '建议为问法',
            onclick: function (e) {
              e.target.disabled = true;
              ws.send('POST', '/candidates', { query: query, faq_id: select.value }).then(function () {
                done.className = 'small kb-ok';
                done.textContent = '已提交建议';
              }, function (error) { e.target.disabled = false; done.className = 'small kb-bad'; done.textContent = error.message; });
            }
          }));
        }
        return el('li', { className: 'an-query' }, [el('span', { text: query }), el('span', {}, buttons.concat([done]))]);
      }));
      clusters.appendChild(el('article', { className: 'an-cluster', 'data-testid': 'kbw-cluster' }, [
        el('div', { className: 'an-cluster-head' }, [
          el('strong', { text: cluster.representative }),
          el('span', { className: 'badge reason-' + cluster.reason, text: REASONS[cluster.reason] || cluster.reason }),
          el('span', { className: 'an-size muted', text: '出现 ' + cluster.size + ' 次' })
        ]),
        el('label', { className: 'an-target small' }, ['加到：', select]),
        queries
      ]));
    });
  }

  ws.on('published', function () { load(); });
  load();
  loadClusters();
  var seen = false;  // mount already loaded; later visits refresh
  return { show: function () { if (seen) load(); seen = true; } };
}
