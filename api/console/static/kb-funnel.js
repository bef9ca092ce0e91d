// 知识库 › 漏斗: each entry followed through the conversation over 7 / 30 / 90 days —
// answered with it, offered in a clarify list, picked from one, 👍 and 👎 (点赞/点踩), 「否」 right
// after, and a handoff or ticket later in the same conversation — sortable by any
// column, with the 「待改进」 list of the weakest answers (GET /api/agent/kb/funnel).

import { el, clear, percent, bar, localTime } from './kb-common.js';

var PERIODS = [7, 30, 90];
var COLUMNS = [
  { key: 'question', title: '条目', text: true },
  { key: 'answered', title: '直接回答', help: '机器人用这个条目直接回答的次数' },
  { key: 'offered', title: '澄清时列出', help: '出现在澄清选项里的次数' },
  { key: 'picked', title: '澄清时被选', help: '用户从澄清选项里选了它的次数' },
  { key: 'thumbs_up', title: '点赞', help: '回答后用户点了 👍' },
  { key: 'thumbs_down', title: '点踩', help: '回答后用户点了 👎' },
  { key: 'denied', title: '「否」', help: '回答后用户在「有帮助吗」里选了否' },
  { key: 'handoff_after', title: '之后转人工/工单', help: '同一会话里后来转了人工或提交了工单' },
  { key: 'satisfaction', title: '满意度', rate: true, help: '点赞 /（点赞 + 点踩）' },
  { key: 'trouble_rate', title: '问题率', rate: true, help: '（点踩 + 否 + 之后转人工/工单）/ 直接回答' },
  { key: 'weakness', title: '待改进分', score: true, help: '越高越需要改进' }
];

export function mount(container, ws) {
  var state = { days: 30, data: null, sort: 'weakness', order: 'desc' };
  var periodButtons = PERIODS.map(function (days) {
    return el('button', {
      type: 'button', className: 'chip', text: days + ' 天', 'data-testid': 'kbw-funnel-period-' + days,
      'aria-pressed': 'false', onclick: function () { state.days = days; load(); }
    });
  });
  var status = el('p', { className: 'muted small', role: 'status', 'aria-live': 'polite' });
  var needs = el('div', { 'data-testid': 'kbw-needs-work' });
  var table = el('div', { className: 'kbw-funnel-table', 'data-testid': 'kbw-funnel' });

  clear(container);
  container.appendChild(el('div', { className: 'kbw-funnel' }, [
    el('div', { className: 'an-toolbar' }, [
      el('div', { className: 'an-periods', role: 'group', 'aria-label': '统计周期' },
        [el('span', { className: 'muted', text: '统计最近：' })].concat(periodButtons)),
      status
    ]),
    el('section', { className: 'kb-card' }, [
      el('h3', { text: '待改进' }),
      el('p', { className: 'muted small', text: '有一定流量、但用户不满意或回答后仍转人工最多的条目。' }),
      needs
    ]),
    el('section', { className: 'kb-card' }, [el('h3', { text: '每个条目的漏斗' }), table])
  ]));

  function load() {
    periodButtons.forEach(function (button, index) {
      var active = PERIODS[index] === state.days;
      button.classList.toggle('active', active);
      button.setAttribute('aria-pressed', active ? 'true' : 'false');
    });
    status.textContent = '正在统计……';
    var days = state.days;
    ws.get('/funnel?days=' + days).then(function (data) {
      if (days !== state.days) return;
      state.data = data;
      status.textContent = '自 ' + localTime(data.since) + ' 起';
      drawNeeds();
      drawTable();
    }, function (error) { status.textContent = error.message; });
  }

  function drawNeeds() {
    clear(needs);
    var rows = state.data.needs_work;
    if (!rows.length) {
      needs.appendChild(el('p', { className: 'muted empty', text: '这段时间没有明显需要改进的条目。' }));
      return;
    }
    needs.appendChild(el('ol', { className: 'kbw-needs' }, rows.map(function (row) {
      var reasons = [];
      if (row.thumbs_down) reasons.push('点踩 ' + row.thumbs_down + ' 次');
      if (row.denied) reasons.push('「否」' + row.denied + ' 次');
      if (row.handoff_after) reasons.push('之后转人工/工单 ' + row.handoff_after + ' 次');
      if (typeof row.trouble_rate === 'number') reasons.push('问题率 ' + percent(row.trouble_rate));
      return el('li', { 'data-testid': 'kbw-needs-work-row', 'data-id': row.faq_id }, [
        el('button', { type: 'button', className: 'link', text: row.question, onclick: function () { ws.show('entries', { open: row.faq_id }); } }),
        el('span', { className: 'muted small', text: '（' + row.faq_id + '，回答 ' + row.answered + ' 次）' }),
        el('div', { className: 'small kbw-reasons', text: reasons.join(' · ') || '—' })
      ]);
    })));
  }

  function value(row, key) {
    var v = row[key];
    return v === null || v === undefined ? -1 : v;
  }

  function drawTable() {
    clear(table);
    var rows = state.data.rows.slice();
    var column = COLUMNS.filter(function (c) { return c.key === state.sort; })[0];
    rows.sort(function (a, b) {
      var x = value(a, state.sort);
      var y = value(b, state.sort);
      var cmp = column.text ? String(x).localeCompare(String(y), 'zh-CN') : x - y;
      return state.order === 'asc' ? cmp : -cmp;
    });
    var maxAnswered = Math.max.apply(null, [1].concat(rows.map(function (r) { return r.answered; })));
    var head = el('tr', {}, COLUMNS.map(function (c) {
      var sorted = c.key === state.sort;
      var button = el('button', {
        type: 'button', className: 'kbw-sort', 'data-testid': 'kbw-funnel-sort-' + c.key, title: c.help || null,
        text: c.title + (sorted ? (state.order === 'asc' ? ' ↑' : ' ↓') : ''),
        onclick: function () {
          if (state.sort === c.key) state.order = state.order === 'asc' ? 'desc' : 'asc';
          else { state.sort = c.key; state.order = c.text ? 'asc' : 'desc'; }
          drawTable();
        }
      });
      return el('th', { className: c.text ? '' : 'num', 'aria-sort': sorted ? (state.order === 'asc' ? 'ascending' : 'descending') : 'none' }, [button]);
    }));
    if (!rows.length) {
      table.appendChild(el('p', { className: 'muted empty', text: '这段时间没有数据。' }));
      return;
    }
    table.appendChild(el('table', {}, [
      el('thead', {}, [head]),
      el('tbody', {}, rows.map(function (row) {
        return el('tr', { 'data-testid': 'kbw-funnel-row', 'data-id': row.faq_id }, COLUMNS.map(function (c) {
          if (c.text) {
            return el('td', {}, [
              el('button', { type: 'button', className: 'link', text: row.question, onclick: function () { ws.show('entries', { open: row.faq_id }); } }),
              el('div', { className: 'muted small', text: row.faq_id + ' · ' + row.category })
            ]);
          }
          if (c.rate) return el('td', { className: 'num', text: percent(row[c.key]) });
          if (c.score) return el('td', { className: 'num', text: typeof row[c.key] === 'number' ? row[c.key].toFixed(2) : '—' });
          if (c.key === 'answered') {
            return el('td', { className: 'num' }, [el('span', { text: String(row.answered) }), bar(row.answered / maxAnswered)]);
          }
          return el('td', { className: 'num', text: String(row[c.key]) });
        }));
      }))
    ]));
  }

  ws.on('published', function () { if (state.data) load(); });
  load();
  return {};
}
