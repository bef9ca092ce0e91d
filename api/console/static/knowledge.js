// The console's 知识库 page: a workspace where the people who keep the FAQ edit entries
// into a draft, try questions against the draft and the published version (命中测试),
// publish (「发布」) and roll back (「回滚」), read each entry's funnel, review candidate
// paraphrases, import and export, and read the audit log.
//
// render(container, api) is called by console.js. This file holds the frame: the
// status bar (live version, the draft's pending changes, 「发布」 and 「回滚」) and the
// views; each view lives in its own kb-*.js module and gets the shared workspace `ws`.
// What a person may do comes from GET /api/agent/kb/me (agent: read and suggest;
// editor: edit and publish; admin: also roll back and override the eval gate).

import {
  el, clear, request, toast, modal, diffList, issueList, when, fixed, ROLE_LABELS
} from './kb-common.js';
import * as entries from './kb-entries.js';
import * as hittest from './kb-hittest.js';
import * as funnel from './kb-funnel.js';
import * as candidates from './kb-candidates.js';
import * as transfer from './kb-transfer.js';
import * as history from './kb-history.js';
import * as indexView from './kb-index.js';

var VIEWS = [
  { id: 'entries', title: '条目', module: entries },
  { id: 'hittest', title: '命中测试', module: hittest },
  { id: 'funnel', title: '漏斗', module: funnel },
  { id: 'candidates', title: '候选问法', module: candidates },
  { id: 'transfer', title: '导入导出', module: transfer },
  { id: 'history', title: '版本与审计', module: history },
  { id: 'index', title: '索引状态', module: indexView }
];

var NO_RIGHTS = { can_edit: false, can_publish: false, can_rollback: false, can_override_gate: false, can_manage_accounts: false };

export function render(container, api) {
  var listeners = {};
  var ws = {
    api: api,
    me: Object.assign({ username: api.me ? api.me.username : '', role: 'agent' }, NO_RIGHTS),
    draft: null,
    versions: [],
    get: function (path) { return request(api, 'GET', path); },
    send: function (method, path, body) { return request(api, method, path, body === undefined ? {} : body); },
    upload: function (path, file) { return request(api, 'POST', path, undefined, file); },
    on: function (event, fn) { (listeners[event] = listeners[event] || []).push(fn); },
    emit: function (event, data) { (listeners[event] || []).forEach(function (fn) { fn(data); }); },
    show: show,
    toast: toast
  };

  clear(container);
  var bar = el('div', { className: 'kbw-bar-top', 'data-testid': 'kbw-statusbar' });
  var nav = el('div', { className: 'kbw-nav', role: 'tablist', 'aria-label': '知识库视图' });
  var body = el('div', { className: 'kbw-views' });
  container.appendChild(el('div', { className: 'kbw' }, [bar, nav, body]));

  var live = el('div', { className: 'kbw-live', 'data-testid': 'kbw-live-version', 'aria-live': 'polite' });
  var pending = el('button', {
    type: 'button', className: 'link kbw-pending', 'data-testid': 'kbw-draft-count',
    'aria-haspopup': 'dialog', onclick: function () { openDraft(); }
  });
  var publishButton = el('button', {
    type: 'button', className: 'primary', text: '发布', 'data-testid': 'kbw-publish',
    onclick: function () { openPublish(); }
  });
  var rollbackButton = el('button', {
    type: 'button', text: '回滚', 'data-testid': 'kbw-rollback', onclick: function () { openRollback(); }
  });
  var role = el('span', { className: 'badge kbw-role', 'data-testid': 'kbw-role' });
  bar.appendChild(el('div', { className: 'kbw-bar-info' }, [el('h2', { text: '知识库' }), role, live]));
  bar.appendChild(el('div', { className: 'kbw-bar-actions' }, [pending, publishButton, rollbackButton]));

  var views = {};
  VIEWS.forEach(function (view) {
    var tab = el('button', {
      type: 'button', role: 'tab', className: 'kbw-tab', text: view.title, 'data-testid': 'kbw-view-' + view.id,
      'aria-selected': 'false', 'aria-controls': 'kbw-view-' + view.id,
      onclick: function () { show(view.id); }
    });
    var panel = el('section', { className: 'kbw-view', id: 'kbw-view-' + view.id, role: 'tabpanel', hidden: true, 'aria-label': view.title });
    nav.appendChild(tab);
    body.appendChild(panel);
    views[view.id] = { spec: view, tab: tab, panel: panel, mounted: null };
  });

  // Arrow keys move between the views, as in any tab list.
  nav.addEventListener('keydown', function (e) {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    var ids = VIEWS.map(function (view) { return view.id; });
    var at = ids.indexOf((e.target.getAttribute('data-testid') || '').replace('kbw-view-', ''));
    if (at < 0) return;
    var next = ids[(at + (e.key === 'ArrowRight' ? 1 : ids.length - 1)) % ids.length];
    show(next);
    views[next].tab.focus();
    e.preventDefault();
  });

  function show(id, arg) {
    Object.keys(views).forEach(function (key) {
      var view = views[key];
      var active = key === id;
      view.tab.setAttribute('aria-selected', active ? 'true' : 'false');
      view.tab.tabIndex = active ? 0 : -1;
      view.tab.classList.toggle('active', active);
      view.panel.hidden = !active;
      if (active && !view.mounted) view.mounted = view.spec.module.mount(view.panel, ws) || {};
      if (active && view.mounted.show) view.mounted.show(arg);
    });
  }

  /* ------------------------------------------------------- status bar */

  function drawBar() {
    var me = ws.me;
    role.textContent = ROLE_LABELS[me.role] || me.role;
    role.title = me.can_edit ? '可以编辑草稿' + (me.can_publish ? '、发布' : '') + (me.can_rollback ? '、回滚' : '')
      : '只读：可以查看、做命中测试、提出问法建议';
    var current = ws.versions.filter(function (v) { return v.current; })[0];
    clear(live);
    if (current) {
      live.appendChild(el('span', { text: '线上版本 ' }));
      live.appendChild(el('strong', { 'data-testid': 'kbw-live-number', text: 'v' + current.number }));
      live.appendChild(el('span', {
        className: 'muted',
        text: '（' + current.author + ' 发布于 ' + when(current.created_at) + (current.rollback_of ? '，回滚自 v' + current.rollback_of : '') + '）'
      }));
    } else {
      live.appendChild(el('span', { className: 'muted', text: '还没有发布过版本' }));
    }
    var count = ws.draft ? ws.draft.changes.length : 0;
    pending.textContent = count ? '草稿：' + count + ' 处待发布的改动' : '草稿：没有待发布的改动';
    pending.setAttribute('data-count', String(count));
    publishButton.hidden = !me.can_publish;
    publishButton.disabled = !count;
    rollbackButton.hidden = !me.can_rollback;
    rollbackButton.disabled = ws.versions.length < 2;
  }

  function refreshDraft() {
    return ws.get('/draft').then(function (draft) { ws.draft = draft; drawBar(); }, showError);
  }

  function refreshVersions() {
    return ws.get('/versions?limit=50').then(function (list) { ws.versions = list; drawBar(); }, showError);
  }

  function showError(error) { toast(error.message); }

  ws.on('draft', refreshDraft);
  ws.on('published', function () { refreshDraft(); refreshVersions(); });

  /* ---------------------------------------------------------- dialogs */

  function openDraft() {
    refreshDraft().then(function () {
      modal('草稿中待发布的改动', function (box, close) {
        var draft = ws.draft || { changes: [], errors: [], warnings: [] };
        box.appendChild(el('p', { className: 'muted', text: '发布时这些改动一起生效；草稿基于线上版本 ' + (draft.base_version ? 'v' + draft.base_version : '（无）') + '。' }));
        box.appendChild(diffList(draft.changes, function (id) { close(); show('entries', { open: id }); }));
        if (draft.errors.length) {
          box.appendChild(el('h3', { text: '必须先修正的问题（' + draft.errors.length + '）' }));
          box.appendChild(issueList(draft.errors, 'error'));
        }
        if (draft.warnings.length) {
          box.appendChild(el('h3', { text: '建议（' + draft.warnings.length + '）' }));
          box.appendChild(issueList(draft.warnings, 'warning'));
        }
        box.appendChild(el('div', { className: 'kbw-dialog-actions' }, [
          el('button', { type: 'button', text: '关闭', onclick: close })
        ]));
      });
    });
  }

  function gateReport(gate) {
    var rows = gate.splits.map(function (split) {
      return el('tr', {}, [
        el('td', { text: split.name + '（' + split.queries + ' 条）' }),
        el('td', { className: 'num', text: fixed(split.top1_published, 1) + '% → ' + fixed(split.top1_draft, 1) + '%' }),
        el('td', { className: 'num', text: split.oos_published === null ? '—' : fixed(split.oos_published, 1) + '% → ' + fixed(split.oos_draft, 1) + '%' })
      ]);
    });
    var changed = gate.changed.slice(0, 50).map(function (q) {
      return el('tr', { 'data-testid': 'kbw-gate-query' }, [
        el('td', { text: q.query }), el('td', { text: q.expected || '（应兜底）' }),
        el('td', { text: q.published }), el('td', { text: q.draft })
      ]);
    });
    return el('div', { className: 'kbw-gate', 'data-testid': 'kbw-gate' }, [
      el('table', {}, [
        el('thead', {}, [el('tr', {}, [el('th', { text: '评测集' }), el('th', { className: 'num', text: '首位命中率（线上 → 草稿）' }), el('th', { className: 'num', text: '超出范围拒答率' })])]),
        el('tbody', {}, rows)
      ]),
      changed.length ? el('h3', { text: '结果变化的查询（' + gate.changed.length + '）' }) : null,
      changed.length ? el('table', { className: 'kbw-gate-changed' }, [
        el('thead', {}, [el('tr', {}, [el('th', { text: '查询' }), el('th', { text: '应命中' }), el('th', { text: '线上' }), el('th', { text: '草稿' })])]),
        el('tbody', {}, changed)
      ]) : null
    ]);
  }

  function openPublish() {
    refreshDraft().then(function () {
      modal('发布草稿', function (box, close) {
        var draft = ws.draft;
        var note = el('textarea', { rows: '2', maxlength: '500', 'data-testid': 'kbw-publish-note', placeholder: '这次改了什么、为什么（会记在版本和审计日志里）' });
        var result = el('div', { role: 'status', 'aria-live': 'polite', className: 'kbw-publish-result' });
        var go = el('button', { type: 'button', className: 'primary', text: '确认发布', 'data-testid': 'kbw-publish-confirm' });
        var progress = el('p', { className: 'muted', hidden: true }, [
          el('progress', { 'aria-label': '正在发布' }), ' 正在跑评测并构建索引，通常几秒钟……'
        ]);
        box.appendChild(el('p', { text: '将发布 ' + draft.changes.length + ' 处改动。发布前会用标注评测集检验草稿：首位命中率或超出范围拒答率下降超过 2 个百分点时停止发布。' }));
        box.appendChild(diffList(draft.changes));
        if (draft.errors.length) {
          box.appendChild(el('h3', { text: '必须先修正的问题' }));
          box.appendChild(issueList(draft.errors, 'error'));
          go.disabled = true;
        }
        if (draft.warnings.length) {
          box.appendChild(el('details', {}, [el('summary', { text: '建议（' + draft.warnings.length + ' 条，不影响发布）' }), issueList(draft.warnings, 'warning')]));
        }
        box.appendChild(el('label', { className: 'kbw-field' }, [el('span', { text: '发布说明' }), note]));
        box.appendChild(progress);
        box.appendChild(result);
        box.appendChild(el('div', { className: 'kbw-dialog-actions' }, [
          el('button', { type: 'button', text: '取消', onclick: close }), go
        ]));

        function publish(override) {
          go.disabled = true;
          progress.hidden = false;
          clear(result);
          ws.send('POST', '/publish', { note: note.value.trim(), override_gate: Boolean(override) }).then(function (done) {
            close();
            toast('已发布版本 v' + done.version.number + '（用时 ' + fixed(done.seconds, 1) + ' 秒，重新编码 ' + done.encoded_rows + ' 行），各进程约 1 秒内换用。', 'ok');
            ws.emit('published', done);
          }, function (error) {
            progress.hidden = true;
            result.appendChild(el('p', { className: 'kb-bad', role: 'alert', 'data-testid': 'kbw-publish-error', text: error.message }));
            if (error.issues.length) result.appendChild(issueList(error.issues, 'error'));
            var gate = error.body && error.body.gate;
            if (gate) {
              result.appendChild(gateReport(gate));
              if (ws.me.can_override_gate) {
                var confirm = el('input', { type: 'checkbox', id: 'kbw-override' });
                var force = el('button', { type: 'button', className: 'danger', text: '仍然发布', 'data-testid': 'kbw-publish-override', disabled: true });
                confirm.addEventListener('change', function () { force.disabled = !confirm.checked; });
                force.addEventListener('click', function () { publish(true); });
                result.appendChild(el('div', { className: 'kbw-override' }, [
                  confirm, el('label', { for: 'kbw-override', text: '我已看过上面的变化，仍要发布（会记入审计日志）' }), force
                ]));
              }
              return;
            }
            go.disabled = false;
          });
        }
        go.addEventListener('click', function () { publish(false); });
      });
    });
  }

  function openRollback(toVersion) {
    var current = ws.versions.filter(function (v) { return v.current; })[0];
    var target = toVersion || (current ? ws.versions.filter(function (v) { return v.number < current.number; })[0] : null);
    if (!target) { toast('没有可以回滚到的版本。'); return; }
    modal('回滚知识库', function (box, close) {
      var note = el('textarea', { rows: '2', maxlength: '500', 'data-testid': 'kbw-rollback-note', placeholder: '为什么回滚' });
      var result = el('div', { role: 'status', 'aria-live': 'polite' });
      var go = el('button', { type: 'button', className: 'primary danger', text: '确认回滚到 v' + target.number, 'data-testid': 'kbw-rollback-confirm' });
      box.appendChild(el('p', {
        text: '把线上内容换回 v' + target.number + '（' + target.author + ' 发布于 ' + when(target.created_at) +
          (target.note ? '：' + target.note : '') + '）。回滚会发布一个新版本，之前的版本都还在，可以随时再换回来。'
      }));
      box.appendChild(el('label', { className: 'kbw-field' }, [el('span', { text: '回滚说明' }), note]));
      box.appendChild(result);
      box.appendChild(el('div', { className: 'kbw-dialog-actions' }, [el('button', { type: 'button', text: '取消', onclick: close }), go]));
      go.addEventListener('click', function () {
        go.disabled = true;
        ws.send('POST', '/rollback', { to_version: target.number, note: note.value.trim() }).then(function (done) {
          close();
          toast('已回滚：线上版本 v' + done.version.number + ' 的内容与 v' + target.number + ' 相同。', 'ok');
          ws.emit('published', done);
        }, function (error) {
          go.disabled = false;
          result.appendChild(el('p', { className: 'kb-bad', role: 'alert', text: error.message }));
        });
      });
    });
  }
  ws.rollback = openRollback;

  /* ------------------------------------------------------------ start */

  ws.get('/me').then(function (me) {
    ws.me = me;
  }, function (error) {
    toast('读取权限失败：' + error.message);
  }).then(function () {
    drawBar();
    refreshDraft();
    refreshVersions();
    show('entries');
  });
  // The index manifest is mounted at once: the page shows which build is in use even
  // before anyone opens 「索引状态」.
  views.index.mounted = indexView.mount(views.index.panel, ws);
  return { refresh: function () { ws.emit('published'); } };
}
