// 知识库 › 版本与审计: every published version (author, time, note, what changed against
// the one before; admins may roll back to any of them) and the audit log of every
// change, publish, rollback and review, filterable by entry.

import { el, clear, diffList, when } from './kb-common.js';

var ACTIONS = {
  'entry.create': '新建条目', 'entry.update': '修改条目', 'entry.archive': '归档条目', 'entry.restore': '恢复条目',
  'entry.discard': '放弃改动', import: '导入', publish: '发布', rollback: '回滚', 'gate.override': '覆盖评测门槛',
  'candidate.accept': '接受候选问法', 'candidate.reject': '拒绝候选问法', 'candidate.suggest': '建议问法',
  'categories.update': '修改分类', 'role.update': '修改角色'
};
var AUDIT_PAGE = 50;

export function mount(container, ws) {
  var state = { selected: null, auditOffset: 0, auditEntry: '' };
  var versions = el('div', { 'data-testid': 'kbw-versions' });
  var detail = el('div', { className: 'kbw-version-detail', 'data-testid': 'kbw-version-detail', 'aria-live': 'polite' });
  var entryFilter = el('input', { type: 'search', placeholder: '按条目 ID 筛选', 'aria-label': '按条目 ID 筛选审计日志', maxlength: '64', 'data-testid': 'kbw-audit-entry' });
  var audit = el('div', { 'data-testid': 'kbw-audit' });
  var prev = el('button', { type: 'button', text: '更新的' });
  var next = el('button', { type: 'button', text: '更早的' });
  var auditSummary = el('span', { className: 'muted small' });

  clear(container);
  container.appendChild(el('div', { className: 'kbw-history' }, [
    el('section', { className: 'kb-card' }, [
      el('h3', { text: '已发布的版本' }),
      el('p', { className: 'muted small', text: '每次发布都是一个不可修改的版本。回滚会用旧版本的内容再发布一个新版本。' }),
      versions, detail
    ]),
    el('section', { className: 'kb-card' }, [
      el('h3', { text: '审计日志' }),
      el('div', { className: 'kbw-inline' }, [entryFilter, auditSummary]),
      audit,
      el('div', { className: 'kbw-pager' }, [prev, next])
    ])
  ]));

  function loadVersions() {
    return ws.get('/versions?limit=50').then(drawVersions, function (error) {
      clear(versions);
      versions.appendChild(el('p', { className: 'kb-bad', text: error.message }));
    });
  }

  function drawVersions(list) {
    clear(versions);
    if (!list.length) {
      versions.appendChild(el('p', { className: 'muted empty', text: '还没有发布过版本。' }));
      return;
    }
    versions.appendChild(el('table', {}, [
      el('thead', {}, [el('tr', {}, [
        el('th', { text: '版本' }), el('th', { text: '发布' }), el('th', { text: '说明' }),
        el('th', { className: 'num', text: '条目' }), el('th', { text: '改动' }), el('th', { text: '' })
      ])]),
      el('tbody', {}, list.map(function (v) {
        var marks = [];
        if (v.current) marks.push(el('span', { className: 'badge kbw-current', text: '线上' }));
        if (v.rollback_of) marks.push(el('span', { className: 'badge', text: '回滚自 v' + v.rollback_of }));
        if (v.gate_overridden) marks.push(el('span', { className: 'badge kbw-kind-archived', text: '覆盖了评测门槛' }));
        var actions = [el('button', { type: 'button', className: 'link', text: '查看改动', onclick: function () { openVersion(v.number); } })];
        if (ws.me.can_rollback && !v.current) {
          actions.push(el('button', {
            type: 'button', className: 'link danger', text: '回滚到此版本', 'data-testid': 'kbw-rollback-to',
            onclick: function () { ws.rollback(v); }
          }));
        }
        return el('tr', { 'data-testid': 'kbw-version', 'data-number': String(v.number), className: state.selected === v.number ? 'selected' : '' }, [
          el('td', {}, [el('strong', { text: 'v' + v.number })].concat(marks)),
          el('td', {}, [el('div', { text: v.author }), el('div', { className: 'muted small', text: when(v.created_at) })]),
          el('td', { text: v.note || '—' }),
          el('td', { className: 'num', text: String(v.entries) }),
          el('td', { className: 'small', text: '新增 ' + v.added + ' · 修改 ' + v.changed + ' · 移除 ' + v.removed }),
          el('td', { className: 'num' }, actions)
        ]);
      }))
    ]));
  }

  function openVersion(number) {
    state.selected = number;
    ws.get('/versions/' + number).then(function (v) {
      clear(detail);
      detail.appendChild(el('h3', { text: 'v' + v.number + ' 相比上一版本的改动' }));
      detail.appendChild(diffList(v.diff, function (id) { ws.show('entries', { open: id }); }));
    }, function (error) { clear(detail); detail.appendChild(el('p', { className: 'kb-bad', text: error.message })); });
  }

  function loadAudit() {
    var params = ['offset=' + state.auditOffset, 'limit=' + AUDIT_PAGE];
    if (state.auditEntry) params.push('entry_id=' + encodeURIComponent(state.auditEntry));
    return ws.get('/audit?' + params.join('&')).then(drawAudit, function (error) {
      clear(audit);
      audit.appendChild(el('p', { className: 'kb-bad', text: error.message }));
    });
  }

  function drawAudit(page) {
    clear(audit);
    auditSummary.textContent = page.total ? '共 ' + page.total + ' 条记录' : '';
    prev.disabled = state.auditOffset <= 0;
    next.disabled = state.auditOffset + page.items.length >= page.total;
    if (!page.items.length) {
      audit.appendChild(el('p', { className: 'muted empty', text: '没有记录。' }));
      return;
    }
    audit.appendChild(el('table', { className: 'kbw-audit-table' }, [
      el('thead', {}, [el('tr', {}, [
        el('th', { text: '时间' }), el('th', { text: '操作人' }), el('th', { text: '操作' }), el('th', { text: '条目' }), el('th', { text: '说明' })
      ])]),
      el('tbody', {}, page.items.map(function (item) {
        return el('tr', { 'data-testid': 'kbw-audit-row', 'data-action': item.action }, [
          el('td', { className: 'small', text: when(item.at) }),
          el('td', { text: item.actor }),
          el('td', {}, [
            el('span', { className: 'badge kbw-action-' + item.action.split('.')[0], text: ACTIONS[item.action] || item.action }),
            item.version ? el('span', { className: 'muted small', text: ' v' + item.version }) : null
          ]),
          el('td', {}, item.entry_id ? [el('button', { type: 'button', className: 'link', text: item.entry_id, onclick: function () { ws.show('entries', { open: item.entry_id }); } })] : []),
          el('td', { text: item.summary })
        ]);
      }))
    ]));
  }

  var filterTimer = null;
  entryFilter.addEventListener('input', function () {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(function () { state.auditEntry = entryFilter.value.trim(); state.auditOffset = 0; loadAudit(); }, 250);
  });
  prev.addEventListener('click', function () { state.auditOffset = Math.max(0, state.auditOffset - AUDIT_PAGE); loadAudit(); });
  next.addEventListener('click', function () { state.auditOffset += AUDIT_PAGE; loadAudit(); });

  function refresh() { loadVersions(); loadAudit(); }
  ws.on('published', refresh);
  ws.on('draft', loadAudit);
  return {
    show: function (arg) {
      if (arg && arg.entry !== undefined) { entryFilter.value = arg.entry; state.auditEntry = arg.entry; state.auditOffset = 0; }
      refresh();
    }
  };
}
