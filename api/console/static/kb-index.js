// The knowledge workspace's 「索引状态」 view: the built index each process uses (its
// manifest and thresholds), and for admins the 「重建并热加载知识库」 button
// (POST /api/agent/kb/reload: rebuild the published version, outside the publish flow).
//
// mount(container, ws): ws.api is the console's client (promises of JSON, Error with a
// Chinese message); ws.api.me.is_admin shows the button. For admins it also holds the
// workspace settings: the categories entries may use, and each account's role.
// Data is only ever set as textContent.

import { el, clear, localTime } from './dom.js';

function fixed(value, digits) {
  return typeof value === 'number' ? value.toFixed(digits) : '—';
}

function rows(info) {
  var manifest = info.manifest;
  var thresholds = manifest.thresholds || {};
  var calibration = manifest.calibration || {};
  var calibrated = calibration.sha256 ? '已按标注查询校准' : '未校准（使用默认阈值）';
  return [
    ['构建 ID', manifest.build_id],
    ['编码器', manifest.encoder + '（' + manifest.dim + ' 维，' + manifest.index_type + ' 索引）'],
    ['问题数', String(manifest.faqs)],
    ['索引行数（问题与释义）', String(manifest.rows)],
    ['内容哈希', String(manifest.content_hash || '').slice(0, 16)],
    ['回答阈值', '得分 ≥ ' + fixed(thresholds.answer, 3) + '，且领先第二名 ≥ ' + fixed(thresholds.margin, 3)],
    ['澄清阈值', '得分 ≥ ' + fixed(thresholds.clarify, 3)],
    ['分类头直接回答', thresholds.backed != null ? '分类头自己的第一名概率 ≥ ' + fixed(thresholds.backed, 2) : '不设'],
    ['稠密检索权重', fixed((manifest.fusion || {}).dense_weight, 2)],
    ['校准', calibrated],
    ['构建时间', localTime(manifest.built_at, true) + '（用时 ' + fixed(manifest.build_seconds, 1) + ' 秒）']
  ];
}

// "FAQ 文件有 2 个问题，知识库没有更新：a:5: …；b:9: …" → the summary, then one line each.
var NOT_UPDATED = '知识库没有更新：';

function problems(message) {
  var at = message.indexOf(NOT_UPDATED);
  if (at < 0) return [message, []];
  var end = at + NOT_UPDATED.length;
  return [message.slice(0, end), message.slice(end).split('；')];
}

export function mount(container, ws) {
  var api = ws.api;
  var isAdmin = Boolean(api.me && api.me.is_admin);
  clear(container);
  var root = el('section', { className: 'kb-panel' });
  container.appendChild(root);

  var manifestBox = el('div', { className: 'kb-manifest', 'data-testid': 'kb-manifest', 'aria-live': 'polite' });
  var sync = el('p', { className: 'kb-sync' });
  root.appendChild(el('div', { className: 'kb-card' }, [
    el('h2', { text: '正在使用的知识库' }),
    manifestBox,
    sync
  ]));

  function showManifest(info) {
    clear(manifestBox);
    if (!info.manifest) {
      manifestBox.appendChild(el('p', { className: 'kb-bad', text: '知识库未加载：' + (info.error || '原因未知') }));
    } else {
      var list = el('dl', { className: 'kb-facts' });
      rows(info).forEach(function (pair) {
        list.appendChild(el('dt', { text: pair[0] }));
        list.appendChild(el('dd', { text: pair[1] }));
      });
      manifestBox.appendChild(list);
    }
    if (info.in_sync) {
      sync.className = 'kb-sync kb-ok';
      sync.textContent = '网关正在使用磁盘上 CURRENT 指向的构建；网关和动作服务器都会自动跟随 CURRENT 的变化（约 1 秒内）。';
    } else if (info.current_build_id) {
      sync.className = 'kb-sync kb-warn';
      sync.textContent = '磁盘上的 CURRENT 指向 ' + info.current_build_id +
        '，与网关正在使用的不同：新构建正在加载（约 1 秒），或者加载失败（请查看网关日志）。';
    } else {
      sync.className = 'kb-sync kb-warn';
      sync.textContent = '磁盘上还没有构建好的索引（CURRENT 不存在）。';
    }
  }

  var loadError = el('p', { className: 'kb-bad', role: 'alert', hidden: true });
  root.appendChild(loadError);

  function load() {
    loadError.hidden = true;
    return api.get('/api/agent/kb/manifest').then(showManifest, function (failure) {
      loadError.textContent = failure.message;
      loadError.hidden = false;
    });
  }

  if (isAdmin) {
    var button = el('button', { type: 'button', className: 'primary', 'data-testid': 'kb-reload', text: '重建并热加载知识库' });
    var progress = el('div', { className: 'kb-progress', hidden: true }, [
      el('progress', { 'aria-label': '正在重建' }),
      el('span', { className: 'muted', text: '正在校验内容、重建索引并热加载，通常需要几秒到一分钟……' })
    ]);
    var result = el('div', { className: 'kb-result', role: 'status', 'data-testid': 'kb-reload-result' });
    root.appendChild(el('div', { className: 'kb-card' }, [
      el('h2', { text: '重建知识库' }),
      el('p', { className: 'muted', text: '按线上版本的内容重新构建索引（平时「发布」已经会构建，这里用于索引损坏或更换编码器之后），网关和动作服务器随后自动换用新构建；重建期间旧知识库继续回答，不会中断对话。内容没有变化时直接沿用现有构建。' }),
      button,
      progress,
      result
    ]));

    button.addEventListener('click', function () {
      button.disabled = true;
      progress.hidden = false;
      clear(result);
      result.className = 'kb-result';
      api.send('POST', '/api/agent/kb/reload', {}).then(function (done) {
        result.className = 'kb-result kb-ok';
        result.textContent = (done.rebuilt ? '已重建并热加载' : '内容没有变化，已沿用并热加载') +
          '构建 ' + done.build_id + '（用时 ' + fixed(done.seconds, 1) + ' 秒）。';
        return load();
      }, function (failure) {
        var parts = problems(failure.message);
        result.className = 'kb-result kb-bad';
        result.appendChild(el('p', { text: parts[0] }));
        if (parts[1].length) {
          var list = el('ul', { className: 'kb-problems' });
          parts[1].forEach(function (line) { list.appendChild(el('li', { text: line })); });
          result.appendChild(list);
        }
      }).then(function () {
        button.disabled = false;
        progress.hidden = true;
      });
    });
  }

  if (isAdmin) root.appendChild(settingsCard(ws));
  load();
  ws.on('published', load);
  var seen = false;  // mount already loaded; later visits refresh
  return { show: function () { if (seen) load(); seen = true; } };
}

// Admin settings: the categories (one a line) and an account's role.
function settingsCard(ws) {
  var categories = el('textarea', { rows: '7', 'data-testid': 'kbw-categories', 'aria-label': '分类，每行一个' });
  var categoriesResult = el('p', { className: 'small', role: 'status' });
  var saveCategories = el('button', { type: 'button', text: '保存分类' });
  ws.get('/categories').then(function (data) { categories.value = data.categories.join('\n'); },
    function (error) { categoriesResult.textContent = error.message; });
  saveCategories.addEventListener('click', function () {
    var list = categories.value.split('\n').map(function (line) { return line.trim(); }).filter(Boolean);
    saveCategories.disabled = true;
    ws.send('PUT', '/categories', { categories: list }).then(function (data) {
      categories.value = data.categories.join('\n');
      categoriesResult.className = 'small kb-ok';
      categoriesResult.textContent = '已保存 ' + data.categories.length + ' 个分类。';
      ws.emit('categories', data.categories);
    }, function (error) {
      categoriesResult.className = 'small kb-bad';
      categoriesResult.textContent = error.message;
    }).then(function () { saveCategories.disabled = false; });
  });

  var username = el('input', { type: 'text', maxlength: '64', 'aria-label': '账号', placeholder: '账号' });
  var role = el('select', { 'aria-label': '角色' }, [
    el('option', { value: 'agent', text: '坐席：查看、提出问法建议' }),
    el('option', { value: 'editor', text: '编辑：修改草稿、发布' }),
    el('option', { value: 'admin', text: '管理员：还可回滚、管理账号' })
  ]);
  var roleResult = el('p', { className: 'small', role: 'status' });
  var saveRole = el('button', { type: 'button', text: '设置角色' });
  saveRole.addEventListener('click', function () {
    if (!username.value.trim()) { roleResult.textContent = '请填写账号。'; return; }
    ws.send('PUT', '/roles/' + encodeURIComponent(username.value.trim()), { role: role.value }).then(function (me) {
      roleResult.className = 'small kb-ok';
      roleResult.textContent = me.username + ' 现在是' + role.options[role.selectedIndex].text.split('：')[0] + '。';
    }, function (error) {
      roleResult.className = 'small kb-bad';
      roleResult.textContent = error.message;
    });
  });

  return el('div', { className: 'kb-card' }, [
    el('h2', { text: '设置（管理员）' }),
    el('h3', { text: '分类' }),
    el('p', { className: 'muted small', text: '每行一个。还有条目在用的分类不能删除。' }),
    categories, el('div', {}, [saveCategories]), categoriesResult,
    el('h3', { text: '账号角色' }),
    el('div', { className: 'kbw-inline' }, [username, role, saveRole]), roleResult
  ]);
}
