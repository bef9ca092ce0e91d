// Knowledge panel of the agent console: the KB manifest in use, and for admins the
// 「重建并热加载知识库」 button (POST /api/agent/kb/reload).
//
// render(container, api): api.get / api.send return promises of JSON and
// reject with Error(Chinese message); api.me.is_admin shows the button. Data is only
// ever set as textContent.

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

export function render(container, api) {
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
      el('span', { className: 'muted', text: '正在校验 FAQ、重建索引并热加载，通常需要几秒到一分钟……' })
    ]);
    var result = el('div', { className: 'kb-result', role: 'status', 'data-testid': 'kb-reload-result' });
    root.appendChild(el('div', { className: 'kb-card' }, [
      el('h2', { text: '重建知识库' }),
      el('p', { className: 'muted', text: '按服务器上的 FAQ 文件校验并重建索引（与 `kefu kb build` 相同），网关和动作服务器随后自动换用新构建；重建期间旧知识库继续回答，不会中断对话。FAQ 没有变化时直接沿用现有构建。' }),
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
        result.textContent = (done.rebuilt ? '已重建并热加载' : 'FAQ 没有变化，已沿用并热加载') +
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

  load();
  return { refresh: load };
}
