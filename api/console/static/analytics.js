// The console's analytics panel: deflection, handoff and ticket rates, CSAT, KB hits by
// topic, the unanswered queries clustered by topic, and the paraphrase-suggestion review
// list (exported as YAML for data/faq_zh.yml).
//
// render(container, api), into the container console.js gives it. Everything from the
// server is set with textContent, never parsed as HTML.

import { el, clear, localTime } from './dom.js';

var PERIODS = [7, 30, 90];
var REASONS = { fallback: '未能回答', downvoted: '回答被点踩', mixed: '未能回答或被点踩' };
var EXPORT_URL = '/api/agent/suggestions/export';

function percent(rate) {
  return rate === null || rate === undefined ? '—' : (rate * 100).toFixed(1) + '%';
}

// A horizontal bar; its width is set through the CSSOM, which the CSP allows
// (unlike a style attribute).
function bar(share) {
  var fill = el('span', { className: 'an-bar-fill' });
  fill.style.width = Math.max(0, Math.min(1, share)) * 100 + '%';
  return el('span', { className: 'an-bar', 'aria-hidden': 'true' }, [fill]);
}

function suggestionKey(query, faqId) { return faqId + '\n' + query; }

export function render(container, api) {
  var state = { days: 30, data: null, suggestions: [], suggested: {} };

  var status = el('p', { className: 'an-status muted', role: 'status', 'aria-live': 'polite' });
  var periodButtons = PERIODS.map(function (days) {
    return el('button', {
      type: 'button', className: 'chip', text: days + ' 天', 'data-testid': 'analytics-period-' + days,
      'aria-pressed': days === state.days ? 'true' : 'false',
      onclick: function () { if (days !== state.days) { state.days = days; load(); } }
    });
  });
  var refresh = el('button', { type: 'button', className: 'link', text: '刷新', onclick: function () { load(); } });
  var figures = el('div', { className: 'an-figures' });
  var hits = el('div', { 'data-testid': 'analytics-kb-hits' });
  var unanswered = el('div', { 'data-testid': 'analytics-unanswered' });
  var review = el('div', { 'data-testid': 'suggestions-list' });
  var exportLink = el('a', {
    className: 'an-export', href: EXPORT_URL, download: 'kefu_paraphrase_suggestions.yml',
    'data-testid': 'suggestions-export', text: '导出 YAML'
  });

  clear(container);
  container.appendChild(el('div', { className: 'analytics' }, [
    el('div', { className: 'an-toolbar' }, [
      el('h2', { text: '数据分析' }),
      el('div', { className: 'an-periods', role: 'group', 'aria-label': '统计周期' },
        [el('span', { className: 'muted', text: '统计最近：' })].concat(periodButtons, [refresh])),
      status
    ]),
    figures,
    el('div', { className: 'an-columns' }, [
      el('section', { className: 'an-card' }, [
        el('h3', { text: '知识库命中（按主题）' }),
        el('p', { className: 'muted small', text: '机器人直接用该条目回答的次数。' }),
        hits
      ]),
      el('section', { className: 'an-card' }, [
        el('div', { className: 'an-card-head' }, [el('h3', { text: '释义建议（待审核）' }), exportLink]),
        el('p', {
          className: 'muted small',
          text: '从下方未解决的问题中加入。导出的 YAML 可直接粘贴到 data/faq_zh.yml 对应条目的 paraphrases 下，然后重建知识库。'
        }),
        review
      ])
    ]),
    el('section', { className: 'an-card' }, [
      el('h3', { text: '未解决的问题（按语义聚类）' }),
      el('p', {
        className: 'muted small',
        text: '机器人没能回答、或回答被用户点踩的问题，相近的问法归为一类，按出现次数排序。'
      }),
      unanswered
    ])
  ]));

  function showError(error) {
    status.textContent = error.message;
    status.className = 'an-status error';
  }

  function load() {
    PERIODS.forEach(function (days, index) {
      periodButtons[index].classList.toggle('active', days === state.days);
      periodButtons[index].setAttribute('aria-pressed', days === state.days ? 'true' : 'false');
    });
    status.className = 'an-status muted';
    status.textContent = '正在统计…';
    var days = state.days;
    Promise.all([api.get('/api/agent/analytics?days=' + days), api.get('/api/agent/suggestions')])
      .then(function (results) {
        if (days !== state.days) return;  // a newer period was chosen meanwhile
        state.data = results[0];
        setSuggestions(results[1]);
        status.textContent = '';
        drawFigures();
        drawHits();
        drawUnanswered();
      }, showError);
  }

  function reloadSuggestions() {
    return api.get('/api/agent/suggestions').then(function (list) {
      setSuggestions(list);
      drawUnanswered();
    }, showError);
  }

  function setSuggestions(list) {
    state.suggestions = list;
    state.suggested = {};
    list.forEach(function (item) { state.suggested[suggestionKey(item.query, item.faq_id)] = true; });
    drawReview();
  }

  function figure(testid, label, value, detail) {
    return el('div', { className: 'an-figure', 'data-testid': testid }, [
      el('div', { className: 'an-figure-label', text: label }),
      el('div', { className: 'an-figure-value', text: value }),
      el('div', { className: 'an-figure-detail muted small', text: detail })
    ]);
  }

  function drawFigures() {
    var d = state.data;
    var csat = d.csat;
    clear(figures);
    figures.appendChild(figure('analytics-conversations', '会话数', String(d.conversations),
      '最近 ' + d.period_days + ' 天内有用户发言的会话'));
    figures.appendChild(figure('analytics-deflection', '自助解决率', percent(d.deflection_rate),
      d.deflected + ' 个会话未转人工、未提交工单'));
    figures.appendChild(figure('analytics-handoff', '转人工率', percent(d.handoff_rate),
      d.handoffs + ' 个会话转了人工'));
    // Handoffs counted one per escalation, by why they happened.
    var reasons = (d.handoff_reasons || []).map(function (r) { return r.label + ' ' + r.count; });
    figures.appendChild(figure('analytics-urgent', '紧急转人工', String(d.urgent_handoffs || 0),
      '疑似诈骗、盗用或资金损失，在队列中优先'));
    figures.appendChild(figure('analytics-frustration', '因不满转人工', String(d.frustration_handoffs || 0),
      reasons.length ? '按原因：' + reasons.join(' · ') : '这段时间没有转人工'));
    figures.appendChild(figure('analytics-ticket', '工单率', percent(d.ticket_rate),
      d.tickets + ' 个会话提交了工单'));
    figures.appendChild(figure('analytics-csat', '满意度（CSAT）', percent(csat.rate),
      '满意 ' + csat.up + ' · 不满意 ' + csat.down + (csat.up + csat.down ? '' : '（暂无评价）')));
  }

  function drawHits() {
    var list = state.data.kb_hits;
    clear(hits);
    if (!list.length) {
      hits.appendChild(el('p', { className: 'muted empty', text: '这段时间没有知识库直接回答的问题。' }));
      return;
    }
    var most = list[0].count;
    hits.appendChild(el('table', { className: 'an-hits' }, [
      el('thead', {}, [el('tr', {}, [
        el('th', { text: '问题' }), el('th', { className: 'num', text: '次数' }), el('th', { text: '' })
      ])]),
      el('tbody', {}, list.map(function (hit) {
        return el('tr', { 'data-testid': 'kb-hit' }, [
          el('td', {}, [
            el('div', { text: hit.question || '（已不在知识库中）' }),
            el('div', { className: 'muted small', text: hit.faq_id })
          ]),
          el('td', { className: 'num', text: String(hit.count) }),
          el('td', { className: 'an-bar-cell' }, [bar(most ? hit.count / most : 0)])
        ]);
      }))
    ]));
  }

  // The FAQs an agent may file a query under: the cluster's nearest, then the KB hits.
  function faqOptions(nearest) {
    var options = [];
    var seen = {};
    function add(id, question) {
      if (!id || seen[id]) return;
      seen[id] = true;
      options.push({ id: id, question: question || id });
    }
    if (nearest) add(nearest.faq_id, nearest.question);
    state.data.kb_hits.forEach(function (hit) { add(hit.faq_id, hit.question); });
    return options;
  }

  function drawUnanswered() {
    if (!state.data) return;
    var clusters = state.data.unanswered;
    clear(unanswered);
    if (!clusters.length) {
      unanswered.appendChild(el('p', { className: 'muted empty', text: '这段时间没有未解决的问题。' }));
      return;
    }
    clusters.forEach(function (cluster, index) {
      unanswered.appendChild(drawCluster(cluster, index));
    });
  }

  function drawCluster(cluster, index) {
    var nearest = cluster.nearest_faq;
    var options = faqOptions(nearest);
    var select = el('select', { 'data-testid': 'suggestion-faq', 'aria-label': '加入到哪个知识库条目' },
      options.map(function (option) {
        return el('option', { value: option.id, text: option.question + '（' + option.id + '）' });
      }));
    select.disabled = !options.length;

    var items = el('ul', { className: 'plain an-queries' });
    function drawQueries() {
      clear(items);
      cluster.queries.forEach(function (query) {
        var faqId = select.value;
        var added = !!state.suggested[suggestionKey(query, faqId)];
        var button = el('button', {
          type: 'button', className: 'link', 'data-testid': 'suggestion-add',
          text: added ? '已加入' : '加入释义建议'
        });
        button.disabled = added || !faqId;
        button.addEventListener('click', function () {
          button.disabled = true;
          api.send('POST', '/api/agent/suggestions', { query: query, faq_id: select.value })
            .then(reloadSuggestions, function (error) { button.disabled = false; showError(error); });
        });
        items.appendChild(el('li', { className: 'an-query' }, [el('span', { text: query }), button]));
      });
    }
    select.addEventListener('change', drawQueries);
    drawQueries();

    return el('article', { className: 'an-cluster', 'data-testid': 'unanswered-cluster' }, [
      el('div', { className: 'an-cluster-head' }, [
        el('span', { className: 'an-rank', text: '#' + (index + 1) }),
        el('strong', { className: 'an-representative', text: cluster.representative }),
        el('span', { className: 'badge reason-' + cluster.reason, text: REASONS[cluster.reason] || cluster.reason }),
        el('span', { className: 'an-size muted', text: '出现 ' + cluster.size + ' 次' })
      ]),
      el('div', { className: 'an-nearest muted small' }, nearest ? [
        '最接近的知识库条目：',
        el('span', { className: 'an-nearest-question', text: nearest.question }),
        '（' + nearest.faq_id + '，相似度 ' + nearest.score.toFixed(2) + '）'
      ] : ['知识库中没有相近的条目。']),
      el('label', { className: 'an-target small' }, ['加入到：', select]),
      items
    ]);
  }

  function drawReview() {
    clear(review);
    exportLink.hidden = !state.suggestions.length;
    if (!state.suggestions.length) {
      review.appendChild(el('p', {
        className: 'muted empty', text: '还没有释义建议。在「未解决的问题」中点击「加入释义建议」。'
      }));
      return;
    }
    review.appendChild(el('table', { className: 'an-review' }, [
      el('thead', {}, [el('tr', {}, [
        el('th', { text: '问法' }), el('th', { text: '知识库条目' }), el('th', { text: '添加人' }), el('th', { text: '' })
      ])]),
      el('tbody', {}, state.suggestions.map(function (item) {
        var remove = el('button', {
          type: 'button', className: 'link danger', text: '删除', 'data-testid': 'suggestion-delete',
          'aria-label': '删除释义建议：' + item.query
        });
        remove.addEventListener('click', function () {
          remove.disabled = true;
          api.send('DELETE', '/api/agent/suggestions/' + encodeURIComponent(item.id))
            .then(reloadSuggestions, function (error) { remove.disabled = false; showError(error); });
        });
        return el('tr', { 'data-testid': 'suggestion' }, [
          el('td', { text: item.query }),
          el('td', {}, [
            el('div', { text: item.question || '（已不在知识库中）' }),
            el('div', { className: 'muted small', text: item.faq_id })
          ]),
          el('td', {}, [
            el('div', { text: item.created_by }),
            el('div', { className: 'muted small', text: localTime(item.created_at) })
          ]),
          el('td', { className: 'num' }, [remove])
        ]);
      }))
    ]));
  }

  load();
}
