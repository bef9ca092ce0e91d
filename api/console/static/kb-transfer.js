// 知识库 › 导入导出: download the published version or the draft as YAML, CSV or Excel,
// and import a file into the draft — first checked (「预检」, nothing saved), with every
// problem by row and field; a file with errors imports nothing.

import { el, clear, issueList, fieldLabel, BASE } from './kb-common.js';

var FORMATS = [['yaml', 'YAML'], ['csv', 'CSV'], ['xlsx', 'Excel']];
var EXTENSIONS = { yml: 'yaml', yaml: 'yaml', csv: 'csv', xlsx: 'xlsx' };

export function mount(container, ws) {
  var side = el('select', { 'aria-label': '导出哪个版本', 'data-testid': 'kbw-export-side' }, [
    el('option', { value: 'published', text: '线上版本' }), el('option', { value: 'draft', text: '草稿（含未发布的改动）' })
  ]);
  var links = el('div', { className: 'kbw-inline' });
  function drawLinks() {
    clear(links);
    FORMATS.forEach(function (pair) {
      var name = 'kefu_faq_' + side.value + (pair[0] === 'yaml' ? '.yml' : '.' + pair[0]);
      links.appendChild(el('a', {
        className: 'an-export', href: BASE + '/export?format=' + pair[0] + '&side=' + side.value, download: name,
        'data-testid': 'kbw-export-' + pair[0], text: '导出 ' + pair[1]
      }));
    });
  }
  side.addEventListener('change', drawLinks);
  drawLinks();

  var file = el('input', { type: 'file', accept: '.yml,.yaml,.csv,.xlsx', 'data-testid': 'kbw-import-file', id: 'kbw-import-file' });
  var format = el('select', { 'aria-label': '文件格式', 'data-testid': 'kbw-import-format' },
    FORMATS.map(function (pair) { return el('option', { value: pair[0], text: pair[1] }); }));
  var check = el('button', { type: 'button', text: '预检（不导入）', 'data-testid': 'kbw-import-check' });
  var run = el('button', { type: 'button', className: 'primary', text: '导入到草稿', 'data-testid': 'kbw-import-run' });
  var report = el('div', { className: 'kbw-import-report', role: 'status', 'aria-live': 'polite', 'data-testid': 'kbw-import-report' });

  file.addEventListener('change', function () {
    var name = file.files.length ? file.files[0].name : '';
    var ext = name.split('.').pop().toLowerCase();
    if (EXTENSIONS[ext]) format.value = EXTENSIONS[ext];
    clear(report);
  });

  var importCard;
  clear(container);
  container.appendChild(el('div', { className: 'kbw-transfer' }, [
    el('section', { className: 'kb-card' }, [
      el('h3', { text: '导出' }),
      el('p', { className: 'muted small', text: 'YAML 与 data/faq_zh.yml 的格式相同；CSV 和 Excel 每个条目一行，相似问法、标签、相关问题在同一格里每行一个。' }),
      el('div', { className: 'kbw-inline' }, [side]), links
    ]),
    importCard = el('section', { className: 'kb-card' }, [
      el('h3', { text: '导入到草稿' }),
      el('p', { className: 'muted small', text: '按条目 ID 合并：新的 ID 新建，已有的 ID 更新，文件里没有的条目不变。导入进入草稿，发布后才生效。' }),
      el('div', { className: 'kbw-inline' }, [el('label', { for: 'kbw-import-file', text: '文件：' }), file, format]),
      el('div', { className: 'kbw-inline' }, [check, run]),
      report
    ])
  ]));

  function send(dryRun) {
    if (!file.files.length) { report.textContent = '请先选择文件。'; return; }
    check.disabled = run.disabled = true;
    clear(report);
    report.appendChild(el('p', { className: 'muted', text: dryRun ? '正在检查……' : '正在导入……' }));
    ws.upload('/import?format=' + format.value + '&dry_run=' + (dryRun ? 'true' : 'false'), file.files[0]).then(function (done) {
      drawReport(done, dryRun, null);
      if (!dryRun && (done.created || done.updated)) ws.emit('draft');
    }, function (error) {
      var body = error.body || {};
      drawReport(body.errors && body.format ? body : null, dryRun, error);
    }).then(function () { check.disabled = run.disabled = false; });
  }

  function drawReport(done, dryRun, error) {
    clear(report);
    if (error) report.appendChild(el('p', { className: 'kb-bad', role: 'alert', text: error.message }));
    if (!done) {
      if (error && error.issues.length) report.appendChild(rowTable(error.issues));
      else if (error && error.errors.length) report.appendChild(el('ul', {}, error.errors.map(function (line) { return el('li', { text: String(line) }); })));
      return;
    }
    var ok = !done.errors.length;
    if (ok || !error) report.appendChild(el('p', {
      className: ok ? 'kb-ok kbw-result' : 'kb-bad kbw-result',
      text: ok
        ? (dryRun ? '检查通过：导入后将' : '已导入草稿：') + '新建 ' + done.created + ' 条、更新 ' + done.updated + ' 条，' +
          done.unchanged + ' 条没有变化。'
        : '文件有 ' + done.errors.length + ' 个错误，没有导入任何内容。请按下表修改后重试。'
    }));
    if (done.errors.length) report.appendChild(rowTable(done.errors));
    if (done.warnings.length) {
      report.appendChild(el('details', {}, [el('summary', { text: '建议（' + done.warnings.length + ' 条，不影响导入）' }), issueList(done.warnings, 'warning')]));
    }
  }

  function rowTable(issues) {
    return el('table', { className: 'kbw-row-errors', 'data-testid': 'kbw-import-errors' }, [
      el('thead', {}, [el('tr', {}, [el('th', { className: 'num', text: '行' }), el('th', { text: '条目' }), el('th', { text: '字段' }), el('th', { text: '问题' })])]),
      el('tbody', {}, issues.map(function (issue) {
        return el('tr', { 'data-testid': 'kbw-import-error' }, [
          el('td', { className: 'num', text: issue.row === null || issue.row === undefined ? '—' : String(issue.row) }),
          el('td', { text: issue.entry || '' }), el('td', { text: issue.field ? fieldLabel(issue.field) : '' }), el('td', { text: issue.message })
        ]);
      }))
    ]);
  }

  check.addEventListener('click', function () { send(true); });
  run.addEventListener('click', function () { send(false); });
  // Importing is for editors; everyone may export.
  return { show: function () { importCard.hidden = !ws.me.can_edit; } };
}
