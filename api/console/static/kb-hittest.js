// 知识库 › 命中测试: type a question and see what the knowledge base decides (answer,
// clarify or fallback), its top candidates with dense, lexical and fused scores, and the
// thresholds, for the published version and the draft side by side
// (POST /api/agent/kb/hit-test).

import { el, clear, decisionBadge, fixed, bar } from './kb-common.js';

export function mount(container, ws) {
  var input = el('input', {
    type: 'search', maxlength: '500', placeholder: '输入一个用户可能问的问题', 'aria-label': '测试的问题',
    'data-testid': 'kbw-hit-query'
  });
  var topK = el('select', { 'aria-label': '显示的候选数' }, [3, 5, 10, 20].map(function (n) {
    return el('option', { value: String(n), text: '前 ' + n + ' 个候选' });
  }));
  topK.value = '5';
  var run = el('button', { type: 'submit', className: 'primary', text: '测试', 'data-testid': 'kbw-hit-run' });
  var status = el('p', { className: 'muted small', role: 'status', 'aria-live': 'polite' });
  var verdict = el('div', { className: 'kbw-hit-verdict', 'data-testid': 'kbw-hit-same', 'aria-live': 'polite' });
  var published = el('section', { className: 'kbw-hit-side', 'data-testid': 'kbw-hit-published', 'aria-label': '线上版本' });
  var draft = el('section', { className: 'kbw-hit-side', 'data-testid': 'kbw-hit-draft', 'aria-label': '草稿' });
  var form = el('form', { className: 'kbw-hit-form', role: 'search' }, [input, topK, run]);

  clear(container);
  container.appendChild(el('div', { className: 'kbw-hit' }, [
    el('p', { className: 'muted', text: '同一个问题分别在线上版本和草稿上检索，看发布前后机器人的决定有没有变化。草稿按当前内容即时构建，可能要等几秒。' }),
    form, status, verdict,
    el('div', { className: 'kbw-hit-sides' }, [published, draft])
  ]));

  var seq = 0;
  function test() {
    var query = input.value.trim();
    if (!query) { input.focus(); return; }
    var mine = ++seq;
    run.disabled = true;
    status.textContent = '正在检索……';
    ws.send('POST', '/hit-test', { query: query, top_k: Number(topK.value) }).then(function (result) {
      if (mine !== seq) return;
      status.textContent = '';
      verdict.className = 'kbw-hit-verdict ' + (result.same ? 'kb-ok' : 'kb-warn');
      verdict.setAttribute('data-same', result.same ? 'true' : 'false');
      verdict.textContent = result.same
        ? '两个版本的决定和首位答案相同。'
        : '草稿与线上版本的结果不同：发布后机器人对这个问题的回答会变化。';
      drawSide(published, '线上版本', result.published);
      drawSide(draft, '草稿', result.draft);
    }, function (error) {
      if (mine !== seq) return;
      status.textContent = error.message;
    }).then(function () { if (mine === seq) run.disabled = false; });
  }
  form.addEventListener('submit', function (e) { e.preventDefault(); test(); });

  function drawSide(box, title, side) {
    clear(box);
    box.setAttribute('data-decision', side.decision || '');
    box.setAttribute('data-top', side.candidates.length ? side.candidates[0].id : '');
    box.appendChild(el('h3', { text: title + (side.version ? ' v' + side.version : '') }));
    if (!side.available) {
      box.appendChild(el('p', { className: 'kb-bad', text: side.error || (side.label === 'published' ? '还没有发布过版本。' : '草稿索引没能构建。') }));
      return;
    }
    box.appendChild(el('div', { className: 'kbw-hit-decision' }, [
      decisionBadge(side.decision),
      el('span', { className: 'muted small', text: '用时 ' + fixed(side.latency_ms, 1) + ' 毫秒' })
    ]));
    var t = side.thresholds;
    if (t) {
      box.appendChild(el('p', {
        className: 'muted small kbw-thresholds', 'data-testid': 'kbw-hit-thresholds',
        text: '阈值：融合分 ≥ ' + fixed(t.answer) + ' 且领先第二名 ≥ ' + fixed(t.margin) + ' 时回答；≥ ' + fixed(t.clarify) +
          ' 时澄清；更低则兜底。稠密检索权重 ' + fixed(t.dense_weight, 2) + '。' +
          (t.backed != null ? '分类头自己的第一名概率 ≥ ' + fixed(t.backed, 2) + ' 时也直接回答。' : '')
      }));
    }
    if (side.backed) {
      box.appendChild(el('p', {
        className: 'small muted', 'data-testid': 'kbw-hit-backed',
        text: '分类头（学过开发集里的问题）很确定是排在最前的这一条，所以直接回答它；只看融合分的话，这个问题不会直接回答，或者会回答另一条。'
      }));
    }
    if (side.held_back) {
      box.appendChild(el('p', {
        className: 'small kb-warn', 'data-testid': 'kbw-hit-held-back',
        text: '分类头（学过开发集里的问题）认为这个问题更像知识库没有覆盖的问题：「都不是」的可能性比第一名还高，' +
          '所以第一名不直接回答（分类头认定这是范围外的问题时，它也不列为选项）。如果它确实该由第一名回答，可以把这个问法加为它的释义。'
      }));
    }
    if (!side.candidates.length) {
      box.appendChild(el('p', { className: 'muted', text: '没有候选。' }));
      return;
    }
    // The head may put an entry with a lower fused score first (Thresholds.backed).
    var top = Math.max.apply(null, side.candidates.map(function (c) { return c.fused; })) || 1;
    box.appendChild(el('table', { className: 'kbw-hit-table' }, [
      el('thead', {}, [el('tr', {}, [
        el('th', { text: '#' }), el('th', { text: '条目' }),
        el('th', { className: 'num', text: '稠密' }), el('th', { className: 'num', text: '词法' }),
        el('th', { className: 'num', text: '融合' })
      ])]),
      el('tbody', {}, side.candidates.map(function (c, index) {
        var passes = t && c.fused >= t.answer;
        return el('tr', { 'data-testid': 'kbw-hit-candidate', 'data-id': c.id, className: index === 0 ? 'kbw-hit-first' : '' }, [
          el('td', { className: 'num', text: String(index + 1) }),
          el('td', {}, [
            el('button', {
              type: 'button', className: 'link', text: c.question, title: '打开条目',
              onclick: function () { ws.show('entries', { open: c.id }); }
            }),
            el('div', { className: 'muted small', text: c.id + ' · ' + c.category })
          ]),
          el('td', { className: 'num', text: fixed(c.dense) }),
          el('td', { className: 'num', text: fixed(c.lexical) }),
          el('td', { className: 'num' }, [
            el('strong', { className: passes ? 'kbw-pass' : '', text: fixed(c.fused) }), bar(c.fused / top)
          ])
        ]);
      }))
    ]));
  }

  return {
    show: function (arg) {
      if (arg && arg.query) { input.value = arg.query; test(); }
      input.focus();
    }
  };
}
