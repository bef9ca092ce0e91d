// 知识库 › 条目: the list of entries (search, filter by category, tag and status) and the
// editor (question, paraphrases, answer and the maintainers' fields) with inline
// validation. A save goes into the draft (PUT with the revision the editor loaded; a
// stale one gets 409 and the editor shows what the other person changed). Agents see
// the entries read-only and may suggest a paraphrase.

import {
  el, clear, toast, statusBadge, changesTable, issueList, issueField, when, splitList,
  FIELD_LABELS, ESCALATE_LABELS
} from './kb-common.js';

var PAGE = 50;
var STATUS_FILTERS = [
  ['', '全部状态'], ['changed', '待发布'], ['draft', '新建未发布'], ['published', '已发布'], ['archived', '已归档']
];
var VALIDATE_DELAY = 400;

export function mount(container, ws) {
  var state = {
    filters: { q: '', category: '', tag: '', status: '' }, offset: 0, page: null,
    entry: null, creating: false, loadedPayload: null, validateTimer: null, validateSeq: 0
  };
  var canEdit = function () { return Boolean(ws.me.can_edit); };

  /* ------------------------------------------------------------ list */

  var search = el('input', {
    type: 'search', placeholder: '搜索问题、问法、回答或 ID', 'aria-label': '搜索条目', 'data-testid': 'kbw-search', maxlength: '200'
  });
  var category = el('select', { 'aria-label': '按分类筛选', 'data-testid': 'kbw-filter-category' });
  var tag = el('select', { 'aria-label': '按标签筛选', 'data-testid': 'kbw-filter-tag' });
  var status = el('select', {
    'aria-label': '按状态筛选', 'data-testid': 'kbw-filter-status',
    title: '「全部状态」不含已归档的条目；「待发布」是与线上版本不同、发布后才生效的条目'
  },
    STATUS_FILTERS.map(function (pair) { return el('option', { value: pair[0], text: pair[1] }); }));
  var newButton = el('button', { type: 'button', className: 'primary', text: '新建条目', 'data-testid': 'kbw-new', hidden: true });
  var summary = el('p', { className: 'muted small kbw-list-summary', role: 'status', 'aria-live': 'polite' });
  var list = el('ul', { className: 'kbw-entry-list', 'data-testid': 'kbw-entries', 'aria-label': '条目列表' });
  var prev = el('button', { type: 'button', text: '上一页' });
  var next = el('button', { type: 'button', text: '下一页' });
  var editorBox = el('div', { className: 'kbw-editor-box', 'data-testid': 'kbw-editor-box' }, [
    el('p', { className: 'muted empty', text: canEdit() ? '从左侧选择一个条目，或点击「新建条目」。' : '从左侧选择一个条目查看。' })
  ]);
  var pager = el('div', { className: 'kbw-pager' }, [prev, next]);

  clear(container);
  container.appendChild(el('div', { className: 'kbw-entries' }, [
    el('aside', { className: 'kbw-list-column' }, [
      el('div', { className: 'kbw-filters' }, [search, el('div', { className: 'kbw-filter-row' }, [category, tag, status]), newButton]),
      summary, list, pager
    ]),
    editorBox
  ]));

  var searchTimer = null;
  search.addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { state.filters.q = search.value.trim(); state.offset = 0; loadList(); }, 250);
  });
  [[category, 'category'], [tag, 'tag'], [status, 'status']].forEach(function (pair) {
    pair[0].addEventListener('change', function () { state.filters[pair[1]] = pair[0].value; state.offset = 0; loadList(); });
  });
  prev.addEventListener('click', function () { state.offset = Math.max(0, state.offset - PAGE); loadList(); });
  next.addEventListener('click', function () { state.offset += PAGE; loadList(); });
  newButton.addEventListener('click', function () { if (confirmLeave()) openNew({}); });

  function fillSelect(select, values, allText, current) {
    clear(select);
    select.appendChild(el('option', { value: '', text: allText }));
    values.forEach(function (value) { select.appendChild(el('option', { value: value, text: value })); });
    select.value = values.indexOf(current) >= 0 ? current : '';
  }

  function listQuery() {
    var f = state.filters;
    var params = ['offset=' + state.offset, 'limit=' + PAGE];
    if (f.q) params.push('q=' + encodeURIComponent(f.q));
    if (f.category) params.push('category=' + encodeURIComponent(f.category));
    if (f.tag) params.push('tag=' + encodeURIComponent(f.tag));
    if (f.status === 'changed') params.push('changed=true');
    else if (f.status) params.push('status=' + f.status);
    return '/entries?' + params.join('&');
  }

  function loadList() {
    var asked = listQuery();
    return ws.get(asked).then(function (page) {
      if (asked !== listQuery()) return;  // the filters changed meanwhile
      state.page = page;
      fillSelect(category, page.categories, '全部分类', state.filters.category);
      fillSelect(tag, page.tags, '全部标签', state.filters.tag);
      drawList();
    }, function (error) { summary.textContent = error.message; });
  }

  function drawList() {
    var page = state.page;
    clear(list);
    newButton.hidden = !canEdit();
    summary.textContent = page.total
      ? '共 ' + page.total + ' 条' + (page.total > page.items.length ? '，显示第 ' + (page.offset + 1) + '–' + (page.offset + page.items.length) + ' 条' : '')
      : '没有符合条件的条目。';
    prev.disabled = page.offset <= 0;
    next.disabled = page.offset + page.items.length >= page.total;
    pager.hidden = prev.disabled && next.disabled;
    page.items.forEach(function (entry) {
      var selected = state.entry && !state.creating && state.entry.id === entry.id;
      var row = el('button', {
        type: 'button', className: 'kbw-entry-row', 'aria-current': selected ? 'true' : null,
        onclick: function () { if (confirmLeave()) openEntry(entry.id); }
      }, [
        el('span', { className: 'kbw-entry-question', text: entry.question }),
        el('span', { className: 'kbw-entry-meta' }, [
          el('span', { className: 'badge', text: entry.category }),
          entry.status !== 'published' ? statusBadge(entry.status) : null,
          entry.changed ? el('span', { className: 'badge kbw-changed', text: '待发布' }) : null,
          el('span', { className: 'muted small', text: entry.id + ' · ' + entry.paraphrases.length + ' 条问法' })
        ].concat(entry.tags.map(function (t) { return el('span', { className: 'kbw-tag', text: '#' + t }); })))
      ]);
      list.appendChild(el('li', { 'data-testid': 'kbw-entry', 'data-id': entry.id }, [row]));
    });
  }

  /* ---------------------------------------------------------- editor */

  var form = null;       // the editor's elements, rebuilt for each entry
  function confirmLeave() {
    if (!form || !isDirty()) return true;
    return window.confirm('当前条目有未保存的修改，确定放弃吗？');
  }

  function openEntry(id) {
    return ws.get('/entries/' + encodeURIComponent(id)).then(function (entry) {
      state.creating = false;
      drawEditor(entry);
      if (state.page) drawList();
    }, function (error) { toast(error.message); });
  }

  function openNew(prefill) {
    state.creating = true;
    var categories = (state.page && state.page.categories) || [];
    drawEditor(Object.assign({
      id: '', category: categories[0] || '', question: '', paraphrases: [], answer: '', escalate: null,
      status: 'draft', tags: [], related: [], owner: ws.me.username || null, last_reviewed: null,
      wechat_answer: null, revision: 0, changed: true
    }, prefill || {}));
    if (state.page) drawList();
  }

  function fieldBox(name, label, control, hint) {
    var error = el('div', { className: 'kbw-field-issues', id: 'kbw-issue-' + name, 'aria-live': 'polite', 'data-testid': 'kbw-field-issues-' + name });
    control.setAttribute('aria-describedby', error.id);
    if (!control.id) control.id = 'kbw-input-' + name;
    return {
      node: el('div', { className: 'kbw-field', 'data-field': name }, [
        el('label', { for: control.id, text: label }), control,
        hint ? el('p', { className: 'muted small kbw-hint', text: hint }) : null, error
      ]),
      control: control, error: error
    };
  }

  function drawEditor(entry) {
    state.entry = entry;
    var editable = canEdit() && entry.status !== 'archived';
    clear(editorBox);
    form = { fields: {}, paraphraseRows: [] };

    var title = el('h2', { text: state.creating ? '新建条目' : entry.question, 'data-testid': 'kbw-editor-title' });
    var meta = el('div', { className: 'kbw-editor-meta' }, state.creating ? [statusBadge('draft')] : [
      statusBadge(entry.status),
      entry.changed ? el('span', { className: 'badge kbw-changed', 'data-testid': 'kbw-editor-changed', text: '有待发布的改动' }) : null,
      el('span', { className: 'muted small', text: '修订 ' + entry.revision + ' · ' + entry.updated_by + ' 修改于 ' + when(entry.updated_at) +
        (entry.published_version ? ' · 最近发布于 v' + entry.published_version : ' · 尚未发布') })
    ]);
    form.conflict = el('div', { className: 'kbw-conflict', role: 'alert', 'data-testid': 'kbw-conflict', hidden: true });
    form.summary = el('div', { className: 'kbw-form-summary', role: 'status', 'aria-live': 'polite', 'data-testid': 'kbw-form-summary' });

    var idInput = el('input', { type: 'text', maxlength: '64', value: entry.id, 'data-testid': 'kbw-field-id', pattern: '[a-z0-9_]+', required: true });
    if (!state.creating) idInput.readOnly = true;
    var categorySelect = el('select', { 'data-testid': 'kbw-field-category' });
    var categoryNames = ((state.page && state.page.categories) || []).slice();
    if (entry.category && categoryNames.indexOf(entry.category) < 0) categoryNames.push(entry.category);
    categoryNames.forEach(function (name) { categorySelect.appendChild(el('option', { value: name, text: name })); });
    categorySelect.value = entry.category;
    var question = el('input', { type: 'text', maxlength: '200', value: entry.question, 'data-testid': 'kbw-field-question', required: true });
    var answer = el('textarea', { rows: '8', maxlength: '4000', 'data-testid': 'kbw-field-answer', required: true });
    answer.value = entry.answer;
    var wechat = el('textarea', { rows: '3', maxlength: '600', 'data-testid': 'kbw-field-wechat_answer' });
    wechat.value = entry.wechat_answer || '';
    var escalate = el('select', { 'data-testid': 'kbw-field-escalate' }, [
      el('option', { value: '', text: '无' }),
      el('option', { value: 'ticket', text: ESCALATE_LABELS.ticket }),
      el('option', { value: 'human', text: ESCALATE_LABELS.human })
    ]);
    escalate.value = entry.escalate || '';
    var tags = el('input', { type: 'text', value: entry.tags.join('，'), 'data-testid': 'kbw-field-tags' });
    var related = el('input', { type: 'text', value: entry.related.join('，'), 'data-testid': 'kbw-field-related' });
    var owner = el('input', { type: 'text', maxlength: '64', value: entry.owner || '', 'data-testid': 'kbw-field-owner' });
    var reviewed = el('input', { type: 'date', value: entry.last_reviewed || '', 'data-testid': 'kbw-field-last_reviewed' });

    // Paraphrases: one input a row, a remove button each, and an input to add one.
    var paraphraseList = el('ol', { className: 'kbw-paraphrases', 'data-testid': 'kbw-paraphrases', id: 'kbw-input-paraphrases', tabindex: '-1' });
    var paraphraseCount = el('span', { className: 'muted small', 'data-testid': 'kbw-paraphrase-count' });
    var newParaphrase = el('input', { type: 'text', maxlength: '200', placeholder: '输入用户会怎么问，回车添加', 'aria-label': '新的相似问法', 'data-testid': 'kbw-paraphrase-new' });
    var addParaphrase = el('button', { type: 'button', text: '添加问法', 'data-testid': 'kbw-paraphrase-add' });
    function paraphraseRow(text) {
      var input = el('input', { type: 'text', maxlength: '200', value: text, 'aria-label': '相似问法', 'data-testid': 'kbw-paraphrase' });
      var row = el('li', { className: 'kbw-paraphrase' });
      var remove = el('button', { type: 'button', className: 'link danger', text: '删除', 'aria-label': '删除问法：' + text });
      var issues = el('div', { className: 'kbw-field-issues' });
      remove.addEventListener('click', function () {
        form.paraphraseRows.splice(form.paraphraseRows.indexOf(rowState), 1);
        row.parentNode.removeChild(row);
        changed();
      });
      input.addEventListener('input', changed);
      var rowState = { input: input, issues: issues, node: row };
      row.appendChild(el('div', { className: 'kbw-paraphrase-line' }, [input, editable ? remove : null]));
      row.appendChild(issues);
      input.readOnly = !editable;
      form.paraphraseRows.push(rowState);
      paraphraseList.appendChild(row);
      return rowState;
    }
    entry.paraphrases.forEach(paraphraseRow);
    function addTyped() {
      var text = newParaphrase.value.trim();
      if (!text) return;
      var exists = form.paraphraseRows.some(function (r) { return r.input.value.trim() === text; });
      if (exists) { form.fields.paraphrases.error.textContent = '这条问法已经在列表里了。'; return; }
      paraphraseRow(text);
      newParaphrase.value = '';
      changed();
    }
    addParaphrase.addEventListener('click', addTyped);
    newParaphrase.addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); addTyped(); } });

    var fields = form.fields;
    fields.id = fieldBox('id', '条目 ID', idInput, state.creating ? '小写字母、数字和下划线，发布后不能修改，对话统计都用它。' : null);
    fields.category = fieldBox('category', '分类', categorySelect);
    fields.question = fieldBox('question', '标准问题', question);
    fields.paraphrases = {
      node: el('fieldset', { className: 'kbw-field', 'data-field': 'paraphrases' }, [
        el('legend', {}, ['相似问法 ', paraphraseCount]),
        el('p', { className: 'muted small kbw-hint', text: '用户真实会怎么问：口语、简写、错别字、中英夹杂都可以。' }),
        paraphraseList,
        editable ? el('div', { className: 'kbw-paraphrase-line' }, [newParaphrase, addParaphrase]) : null,
        el('div', { className: 'kbw-field-issues', id: 'kbw-issue-paraphrases', 'data-testid': 'kbw-field-issues-paraphrases', 'aria-live': 'polite' })
      ]),
      control: paraphraseList
    };
    fields.paraphrases.error = fields.paraphrases.node.lastChild;
    fields.answer = fieldBox('answer', '回答', answer, '简洁、可操作。绝不能让用户提供密码、验证码、CVV 或助记词。');
    fields.wechat_answer = fieldBox('wechat_answer', '微信短回答（可选）', wechat, '微信里显示的精简版本，不填则用上面的回答。');
    fields.escalate = fieldBox('escalate', '后续建议', escalate);
    fields.tags = fieldBox('tags', '标签', tags, '用逗号分隔。');
    fields.related = fieldBox('related', '相关问题', related, '其他条目的 ID，用逗号分隔。');
    fields.owner = fieldBox('owner', '负责人', owner);
    fields.last_reviewed = fieldBox('last_reviewed', '最近复核', reviewed);

    [idInput, question, answer, wechat, tags, related, owner].forEach(function (input) {
      input.readOnly = !editable;
      input.addEventListener('input', changed);
    });
    [categorySelect, escalate, reviewed].forEach(function (input) {
      input.disabled = !editable;
      input.addEventListener('change', changed);
    });

    var actions = el('div', { className: 'kbw-editor-actions' });
    if (editable) {
      form.save = el('button', { type: 'submit', className: 'primary', text: state.creating ? '创建到草稿' : '保存到草稿', 'data-testid': 'kbw-save' });
      actions.appendChild(form.save);
    }
    if (canEdit() && !state.creating) {
      if (entry.changed && entry.published_version) {
        actions.appendChild(el('button', { type: 'button', text: '放弃本条改动', 'data-testid': 'kbw-discard', onclick: function () { lifecycle('discard'); } }));
      } else if (entry.changed && !entry.published_version && entry.status !== 'archived') {
        actions.appendChild(el('button', { type: 'button', text: '删除草稿条目', 'data-testid': 'kbw-discard', onclick: function () { lifecycle('discard'); } }));
      }
      if (entry.status === 'archived') {
        actions.appendChild(el('button', { type: 'button', text: '恢复', 'data-testid': 'kbw-restore', onclick: function () { lifecycle('restore'); } }));
      } else {
        actions.appendChild(el('button', { type: 'button', className: 'danger', text: '归档', 'data-testid': 'kbw-archive', onclick: function () { lifecycle('archive'); } }));
      }
    }
    if (!state.creating) {
      actions.appendChild(el('button', {
        type: 'button', className: 'link', text: '命中测试', 'data-testid': 'kbw-try',
        title: '用最后一条问法在草稿和线上版本上试试',
        onclick: function () {
          var rows = form.paraphraseRows;
          var query = rows.length ? rows[rows.length - 1].input.value.trim() : question.value.trim();
          ws.show('hittest', { query: query });
        }
      }));
      actions.appendChild(el('button', {
        type: 'button', className: 'link', text: '审计记录',
        onclick: function () { ws.show('history', { entry: entry.id }); }
      }));
    }

    var readOnlyNote = null;
    if (!canEdit()) {
      readOnlyNote = suggestBox(entry);
    } else if (entry.status === 'archived') {
      readOnlyNote = el('p', { className: 'kbw-note', text: '这个条目已归档，不会被检索到。点击「恢复」后可以继续编辑。' });
    }

    var formNode = el('form', { className: 'kbw-editor', 'data-testid': 'kbw-editor', 'aria-labelledby': 'kbw-editor-title', novalidate: true }, [
      el('header', { className: 'kbw-editor-head' }, [title, meta]),
      readOnlyNote, form.conflict,
      state.creating ? fields.id.node : null,
      el('div', { className: 'kbw-grid-2' }, [fields.category.node, fields.escalate.node]),
      fields.question.node, fields.paraphrases.node, fields.answer.node, fields.wechat_answer.node,
      el('div', { className: 'kbw-grid-2' }, [fields.tags.node, fields.related.node]),
      el('div', { className: 'kbw-grid-2' }, [fields.owner.node, fields.last_reviewed.node]),
      form.summary, actions
    ]);
    title.id = 'kbw-editor-title';
    formNode.addEventListener('submit', function (e) { e.preventDefault(); save(); });
    editorBox.appendChild(formNode);

    form.read = function () {
      return {
        id: idInput.value.trim(),
        category: categorySelect.value,
        question: question.value.trim(),
        paraphrases: form.paraphraseRows.map(function (r) { return r.input.value.trim(); }).filter(Boolean),
        answer: answer.value.trim(),
        escalate: escalate.value || null,
        tags: splitList(tags.value),
        related: splitList(related.value),
        owner: owner.value.trim() || null,
        last_reviewed: reviewed.value || null,
        wechat_answer: wechat.value.trim() || null
      };
    };
    form.countParaphrases = function () {
      paraphraseCount.textContent = '（' + form.paraphraseRows.length + ' 条）';
    };
    form.countParaphrases();
    state.loaded = form.read();
    state.loadedPayload = JSON.stringify(state.loaded);
    if (editable) validateSoon();
  }

  function isDirty() { return form && JSON.stringify(form.read()) !== state.loadedPayload; }

  // The fields this editor changed since opening the entry: a save sends only these, so
  // another person's edits to other fields are kept.
  function editedFields(payload) {
    return Object.keys(payload).filter(function (field) {
      return field !== 'id' && JSON.stringify(payload[field]) !== JSON.stringify(state.loaded[field]);
    });
  }

  function changed() {
    if (!form) return;
    form.countParaphrases();
    if (form.save) form.save.textContent = (state.creating ? '创建到草稿' : '保存到草稿') + (isDirty() ? ' *' : '');
    validateSoon();
  }

  /* ------------------------------------------------------ validation */

  function validateSoon() {
    clearTimeout(state.validateTimer);
    state.validateTimer = setTimeout(validate, VALIDATE_DELAY);
  }

  function validate() {
    if (!form || !canEdit()) return;
    var payload = form.read();
    var local = [];
    if (!payload.question) local.push({ field: 'question', message: '标准问题不能为空。', level: 'error' });
    if (!payload.answer) local.push({ field: 'answer', message: '回答不能为空。', level: 'error' });
    if (state.creating && !payload.id) local.push({ field: 'id', message: '请填写条目 ID。', level: 'error' });
    if (local.length) { showIssues(local, []); return; }
    var seq = ++state.validateSeq;
    ws.send('POST', '/validate', payload).then(function (result) {
      if (seq !== state.validateSeq) return;  // an older answer: the form changed since
      showIssues(result.errors, result.warnings);
    }, function (error) {
      if (seq !== state.validateSeq) return;
      showIssues(error.issues, [], error.errors.length ? error.errors : null);
    });
  }

  // Put each issue under its field (a paraphrase's under that paraphrase); the rest,
  // and a count, in the summary above the buttons.
  function showIssues(errors, warnings, loose) {
    if (!form) return;
    Object.keys(form.fields).forEach(function (name) {
      var field = form.fields[name];
      clear(field.error);
      if (field.control) field.control.removeAttribute('aria-invalid');
    });
    form.paraphraseRows.forEach(function (row) { clear(row.issues); row.input.removeAttribute('aria-invalid'); });
    var unplaced = [];
    function place(issue) {
      var name = issueField(issue);
      var index = /[.[](\d+)/.exec(String(issue.field || ''));
      var target = null;
      var control = null;
      if (name === 'paraphrases' && index && form.paraphraseRows[Number(index[1])]) {
        var row = form.paraphraseRows[Number(index[1])];
        target = row.issues;
        control = row.input;
      } else if (form.fields[name]) {
        target = form.fields[name].error;
        control = form.fields[name].control;
      }
      if (!target) {
        unplaced.push(issue);
        return;
      }
      target.appendChild(el('p', {
        className: issue.level === 'warning' ? 'kbw-warning' : 'kbw-error',
        'data-testid': issue.level === 'warning' ? 'kbw-field-warning' : 'kbw-field-error',
        text: (issue.level === 'warning' ? '建议：' : '') + issue.message
      }));
      if (issue.level !== 'warning' && control) control.setAttribute('aria-invalid', 'true');
    }
    errors.forEach(function (issue) { place(Object.assign({ level: 'error' }, issue)); });
    warnings.forEach(function (issue) { place(Object.assign({}, issue, { level: 'warning' })); });
    clear(form.summary);
    if (errors.length) {
      form.summary.appendChild(el('p', { className: 'kbw-error', text: '有 ' + errors.length + ' 个问题需要修正，修正前不能发布。' }));
    } else if (warnings.length) {
      form.summary.appendChild(el('p', { className: 'kbw-warning', text: '没有错误；有 ' + warnings.length + ' 条建议，可以先保存。' }));
    }
    if (unplaced.length) form.summary.appendChild(issueList(unplaced, 'error'));
    if (loose) form.summary.appendChild(el('ul', { className: 'kbw-issues' }, loose.map(function (line) { return el('li', { text: line }); })));
  }

  /* ------------------------------------------------------------ save */

  function save(overrideRevision) {
    if (!form || !canEdit()) return;
    var payload = form.read();
    var entry = state.entry;
    var call;
    if (state.creating) {
      call = ws.send('POST', '/entries', payload);
    } else {
      var update = { revision: overrideRevision === undefined ? entry.revision : overrideRevision };
      var edited = editedFields(payload);
      if (!edited.length) { toast('没有需要保存的修改。', 'ok'); return; }
      edited.forEach(function (field) { update[field] = payload[field]; });
      call = ws.send('PUT', '/entries/' + encodeURIComponent(entry.id), update);
    }
    form.save.disabled = true;
    call.then(function (saved) {
      var wasNew = state.creating;
      state.creating = false;
      drawEditor(saved);
      toast(wasNew ? '已创建条目「' + saved.question + '」，发布后生效。' : '已保存到草稿，发布后生效。', 'ok');
      ws.emit('draft');
      loadList();
    }, function (error) {
      if (form.save) form.save.disabled = false;
      if (error.status === 409 && error.body && error.body.current) { showConflict(error.body, payload); return; }
      if (error.status === 422) {
        var issues = error.issues;
        showIssues(issues.filter(function (i) { return i.level !== 'warning'; }), issues.filter(function (i) { return i.level === 'warning'; }),
          issues.length ? null : error.errors);
        form.summary.insertBefore(el('p', { className: 'kbw-error', role: 'alert', text: error.message }), form.summary.firstChild);
        focusFirstInvalid();
        return;
      }
      toast(error.message);
    });
  }

  function focusFirstInvalid() {
    var invalid = editorBox.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }

  // 409: someone saved this entry after it was opened. Show what they changed and where
  // both changed the same field; let the editor take their version or save on top of it
  // (only the fields this editor changed are sent, so theirs stay).
  function showConflict(body, mine) {
    var box = form.conflict;
    clear(box);
    box.hidden = false;
    var current = body.current;
    var theirs = body.changes.map(function (change) { return change.field.split(/[.[]/)[0]; });
    var overwrites = editedFields(mine).filter(function (field) { return theirs.indexOf(field) >= 0; });
    box.appendChild(el('p', {}, [
      el('strong', { text: body.changed_by + ' 在 ' + when(body.changed_at) + ' 保存了这个条目' }),
      '（在你打开之后），你的保存没有生效。对方改了：'
    ]));
    box.appendChild(changesTable(body.changes));
    box.appendChild(el('p', {
      className: 'small', 'data-testid': 'kbw-conflict-overlap',
      text: overwrites.length
        ? '你们都改了：' + overwrites.map(function (f) { return FIELD_LABELS[f] || f; }).join('、') + '。在最新版本上保存时这些字段以你的为准，其他字段保留对方的改动。'
        : '你们改的是不同的字段：在最新版本上保存你的修改，不会覆盖对方的改动。'
    }));
    box.appendChild(el('div', { className: 'kbw-editor-actions' }, [
      el('button', {
        type: 'button', text: '载入对方的版本（放弃我的修改）', 'data-testid': 'kbw-conflict-reload',
        onclick: function () { drawEditor(current); }
      }),
      el('button', {
        type: 'button', className: 'primary', text: '在最新版本上保存我的修改', 'data-testid': 'kbw-conflict-overwrite',
        onclick: function () { state.entry = current; save(current.revision); }
      })
    ]));
    box.scrollIntoView({ block: 'nearest' });
  }

  var LIFECYCLE = {
    archive: ['归档后这个条目不再被检索到（发布后生效），可以随时恢复。确定归档吗？', '已归档，发布后生效。'],
    restore: [null, '已恢复到草稿，发布后生效。'],
    discard: ['放弃这个条目尚未发布的全部改动？', '已放弃改动。']
  };

  function lifecycle(action) {
    var entry = state.entry;
    var texts = LIFECYCLE[action];
    if (texts[0] && !window.confirm(texts[0])) return;
    ws.send('POST', '/entries/' + encodeURIComponent(entry.id) + '/' + action, { revision: entry.revision }).then(function (result) {
      toast(texts[1], 'ok');
      if (result) drawEditor(result);
      else { form = null; clear(editorBox); editorBox.appendChild(el('p', { className: 'muted empty', text: '草稿条目已删除。' })); }
      ws.emit('draft');
      loadList();
    }, function (error) {
      if (error.status === 409 && error.body && error.body.current) { showConflict(error.body, form.read()); return; }
      toast(error.message);
    });
  }

  // Agents: read-only, and a paraphrase suggestion for the editors to review.
  function suggestBox(entry) {
    var input = el('input', { type: 'text', maxlength: '200', placeholder: '用户还会这样问……', 'aria-label': '建议的问法', 'data-testid': 'kbw-suggest-input' });
    var result = el('span', { className: 'small', role: 'status' });
    var send = el('button', { type: 'button', text: '提交建议', 'data-testid': 'kbw-suggest' });
    send.addEventListener('click', function () {
      var query = input.value.trim();
      if (!query) return;
      send.disabled = true;
      ws.send('POST', '/candidates', { query: query, faq_id: entry.id }).then(function () {
        input.value = '';
        result.className = 'small kb-ok';
        result.textContent = '已提交，编辑审核后加入。';
      }, function (error) {
        result.className = 'small kb-bad';
        result.textContent = error.message;
      }).then(function () { send.disabled = false; });
    });
    return el('div', { className: 'kbw-note' }, [
      el('p', { text: '你的角色只能查看条目。发现用户的新问法，可以建议加入这个条目：' }),
      el('div', { className: 'kbw-inline' }, [input, send, result])
    ]);
  }

  ws.on('draft', function () { if (state.page) loadList(); });
  ws.on('published', function () {
    loadList();
    if (state.entry && !state.creating && !isDirty()) openEntry(state.entry.id);
  });
  ws.on('categories', function () { loadList(); });

  loadList();
  return {
    show: function (arg) {
      if (!arg) return;
      if (arg.open && confirmLeave()) openEntry(arg.open);
      if (arg.create && confirmLeave()) openNew(arg.create);
    }
  };
}
