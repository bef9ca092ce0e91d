/*
 * Kefu 在线客服 — embeddable chat widget.
 *
 * Embed with one tag, on the gateway's own pages or on another site:
 *   <script src="https://kefu.example.com/widget.js" data-title="在线客服" defer></script>
 * The API is found next to the script (document.currentScript.src); data-api-base
 * overrides it. Another site's origin must be listed in the gateway's
 * KEFU_WIDGET_ORIGINS, or the browser blocks every call (CORS).
 *
 * Plain ES2019, no dependencies, no build step. Everything lives in this IIFE;
 * the only global is window.KefuWidget ({open, close, reset}).
 *
 * Security: message text coming from the server or the user is only ever put
 * into the page with textContent / createTextNode, never parsed as HTML.
 */
(function () {
  'use strict';

  if (window.KefuWidget) return; // the tag was included twice; keep the first instance

  var STORAGE_KEY = 'kefu.session';
  var MAX_LENGTH = 1000;
  var REQUEST_TIMEOUT_MS = 45000;
  // Bot answers are long; the 「这个回答解决您的问题了吗？」 prompt is short. Only answers get 👍/👎.
  var FEEDBACK_MIN_CHARS = 20;
  var GREETING = '您好，我是钱包智能客服。请直接输入您的问题，例如“充值一直没到账”。';

  var TEXT = {
    open: '打开在线客服',
    close: '关闭',
    placeholder: '请输入您的问题…',
    send: '发送',
    agentLabel: '人工客服',
    typing: '客服正在输入',
    helpful: '有帮助',
    notHelpful: '没帮助',
    quickReplies: '快捷选项',
    waitingAgent: '正在为您转接人工客服，请稍候…',
    agentJoined: '人工客服已接入',
    network: '网络异常，请稍后重试',
    tooFrequent: '发送太频繁，请稍后再试',
    tooLong: '消息太长，请精简后再发送',
    invalid: '消息格式不正确，请修改后重试',
    feedbackFailed: '反馈提交失败，请稍后重试',
    notSent: '未发送'
  };

  // Feather-style icon paths (static markup we control, drawn with DOM APIs).
  var ICONS = {
    chat: 'M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5z',
    close: 'M18 6L6 18M6 6l12 12',
    up: 'M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3',
    down: 'M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17'
  };

  /* ------------------------------------------------------------------ config */

  var script = document.currentScript ||
    document.querySelector('script[src$="widget.js"]');

  function readConfig(el) {
    var src = (el && el.src) || window.location.href;
    var origin;
    try { origin = new URL(src, window.location.href).origin; } catch (e) { origin = window.location.origin; }
    var base = (el && el.getAttribute('data-api-base')) || '';
    base = base.trim() || origin; // empty attribute means "same origin as the script"
    return {
      apiBase: base.replace(/\/+$/, ''),
      title: ((el && el.getAttribute('data-title')) || '').trim() || '在线客服',
      // widget.css sits next to widget.js, so resolve it relative to the script URL.
      cssHref: new URL('widget.css', new URL(src, window.location.href)).href
    };
  }

  var config = readConfig(script);

  /* ------------------------------------------------------------------- state */

  var state = {
    session: null,        // {session_id, token}
    sessionPromise: null, // in-flight session creation, shared by concurrent callers
    historyPromise: null, // in-flight/finished history load for the stored session
    historyLoaded: false, // true once the current session's history is on screen (or it is brand new)
    open: false,
    pending: 0,           // messages posted but not yet answered (typing dots show while > 0)
    queue: null,          // promise chain: posts go out one at a time, in the order typed
    generation: 0,        // bumped by reset() so late answers for a wiped conversation are dropped
    convState: 'bot',     // "bot" | "waiting_agent" | "agent"
    unread: false,
    shown: {},            // "session_id:message_id" -> true, so SSE + POST never double-render
    payloadTitles: {},    // "/affirm" -> "是": history may store a button's payload as the user's text
    events: null,         // EventSource
    eventsFailures: 0,
    reconnectTimer: null,
    els: {}
  };

  /* ----------------------------------------------------------------- storage */

  // localStorage can throw (privacy modes, disabled storage); the widget still works without it.
  function loadStoredSession() {
    try {
      var raw = window.localStorage.getItem(STORAGE_KEY);
      var s = raw ? JSON.parse(raw) : null;
      return s && typeof s.session_id === 'string' && typeof s.token === 'string' ? s : null;
    } catch (e) { return null; }
  }

  function storeSession(s) {
    try {
      if (s) window.localStorage.setItem(STORAGE_KEY, JSON.stringify({ session_id: s.session_id, token: s.token }));
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (e) { /* ignore */ }
  }

  /* --------------------------------------------------------------------- API */

  function sessionPath(s, suffix) {
    return config.apiBase + '/api/chat/sessions/' + encodeURIComponent(s.session_id) + (suffix || '');
  }

  // Resolves to {status, data}; rejects only on network failure / timeout.
  function request(method, url, body, token) {
    var headers = { 'Accept': 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers['Authorization'] = 'Bearer ' + token;
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    return fetch(url, {
      method: method,
      headers: headers,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: controller ? controller.signal : undefined
    }).then(function (res) {
      return res.text().then(function (raw) {
        var data = null;
        if (raw) { try { data = JSON.parse(raw); } catch (e) { data = null; } }
        return { status: res.status, data: data };
      });
    }).finally(function () {
      if (timer) clearTimeout(timer);
    });
  }

  function createSession() {
    return request('POST', config.apiBase + '/api/chat/sessions', {}).then(function (res) {
      if (res.status < 200 || res.status >= 300 || !res.data || !res.data.session_id) {
        throw new Error('session ' + res.status);
      }
      setSession({ session_id: String(res.data.session_id), token: String(res.data.token) });
      state.historyLoaded = true; // a brand-new session has no history to fetch
      return state.session;
    });
  }

  // Lazily create the session once, even if open() and send() race for it.
  function ensureSession() {
    if (state.session) return Promise.resolve(state.session);
    if (!state.sessionPromise) {
      state.sessionPromise = createSession().finally(function () { state.sessionPromise = null; });
    }
    return state.sessionPromise;
  }

  function setSession(s) {
    disconnectEvents();
    state.session = s;
    storeSession(s);
    if (s) connectEvents();
  }

  // FastAPI returns detail as a string for our errors, or a list for validation errors.
  function errorDetail(data, fallback) {
    return data && typeof data.detail === 'string' && data.detail ? data.detail : fallback;
  }

  /* -------------------------------------------------------------- DOM helpers */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
        if (k === 'className') node.className = attrs[k];
        else if (k === 'text') node.textContent = attrs[k];
        else node.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
      });
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function icon(name, size) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', String(size || 20));
    svg.setAttribute('height', String(size || 20));
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function charCount(text) {
    return Array.from(text || '').length; // count code points, not UTF-16 units
  }

  /* ------------------------------------------------------------------- build */

  function injectStylesheet() {
    if (document.querySelector('link[data-kefu-style]')) return;
    document.head.appendChild(el('link', { rel: 'stylesheet', href: config.cssHref, 'data-kefu-style': '' }));
  }

  function buildWidget() {
    var els = state.els;

    els.launcher = el('button', {
      type: 'button', className: 'kefu-launcher', 'aria-label': TEXT.open,
      'aria-haspopup': 'dialog', 'aria-expanded': 'false', 'data-testid': 'kefu-launcher'
    }, [icon('chat', 26), el('span', { className: 'kefu-unread', 'aria-hidden': 'true', 'data-testid': 'kefu-unread', hidden: true })]);
    els.unread = els.launcher.querySelector('.kefu-unread');

    els.close = el('button', {
      type: 'button', className: 'kefu-close', 'aria-label': TEXT.close, 'data-testid': 'kefu-close'
    }, [icon('close', 20)]);

    els.state = el('div', { className: 'kefu-state', role: 'status', 'data-testid': 'kefu-state', hidden: true });

    els.messages = el('div', {
      className: 'kefu-messages', 'aria-live': 'polite', 'aria-relevant': 'additions',
      'data-testid': 'kefu-messages', tabindex: '0', 'aria-label': '聊天记录'
    });

    els.input = el('textarea', {
      className: 'kefu-input', rows: '1', maxlength: String(MAX_LENGTH),
      placeholder: TEXT.placeholder, 'aria-label': TEXT.placeholder, 'data-testid': 'kefu-input',
      enterkeyhint: 'send'
    });
    // Never disabled: clicking with an empty box is simply a no-op (and keeps browser tests simple).
    els.send = el('button', {
      type: 'submit', className: 'kefu-send', 'data-testid': 'kefu-send', text: TEXT.send
    });
    els.form = el('form', { className: 'kefu-composer', novalidate: true }, [els.input, els.send]);

    els.panel = el('div', {
      className: 'kefu-panel', role: 'dialog', 'aria-label': config.title,
      'data-testid': 'kefu-panel', hidden: true
    }, [
      el('div', { className: 'kefu-header' }, [
        el('div', { className: 'kefu-title-wrap' }, [
          el('span', { className: 'kefu-avatar', 'aria-hidden': 'true' }, [icon('chat', 18)]),
          el('h2', { className: 'kefu-title', text: config.title })
        ]),
        els.close
      ]),
      els.state,
      els.messages,
      els.form
    ]);

    els.root = el('div', { className: 'kefu-root' }, [els.panel, els.launcher]);
    document.body.appendChild(els.root);

    els.launcher.addEventListener('click', function () { openPanel(); });
    els.close.addEventListener('click', function () { closePanel(); });
    els.panel.addEventListener('keydown', onPanelKeydown);
    els.form.addEventListener('submit', function (e) { e.preventDefault(); sendTyped(); });
    els.input.addEventListener('keydown', onInputKeydown);
    els.input.addEventListener('input', autoGrowInput);
    autoGrowInput();
  }

  /* ------------------------------------------------------------- open/close */

  var narrowQuery = window.matchMedia ? window.matchMedia('(max-width: 480px)') : null;

  function openPanel() {
    if (!state.open) {
      state.open = true;
      state.els.panel.hidden = false;
      state.els.launcher.hidden = true;
      state.els.launcher.setAttribute('aria-expanded', 'true');
      setUnread(false);
      lockPageScroll(true);
      fitToVisualViewport();
      scrollToBottom(true);
      focusInput();
    }
    // Session is created lazily here; failures are retried on the first send.
    return (state.historyPromise || Promise.resolve())
      .then(function () {
        // The load-time history fetch may have failed (offline); try again now.
        if (state.session && !state.historyLoaded) return fetchHistory(state.session);
      })
      .then(function () {
        showGreetingIfEmpty();
        return ensureSession();
      })
      .catch(function () { return null; });
  }

  function closePanel() {
    if (!state.open) return;
    state.open = false;
    state.els.panel.hidden = true;
    state.els.launcher.hidden = false;
    state.els.launcher.setAttribute('aria-expanded', 'false');
    lockPageScroll(false);
    state.els.launcher.focus();
  }

  function onPanelKeydown(e) {
    if (e.key === 'Escape') { e.preventDefault(); closePanel(); }
  }

  function focusInput() {
    // On phones, focusing pops the keyboard over the freshly opened panel; only autofocus on wide screens.
    if (!(narrowQuery && narrowQuery.matches)) state.els.input.focus();
  }

  // The full-screen panel on phones should not let the page behind it scroll.
  function lockPageScroll(on) {
    var narrow = narrowQuery && narrowQuery.matches;
    document.documentElement.classList.toggle('kefu-scroll-lock', Boolean(on && narrow));
  }

  // iOS keeps fixed elements under the on-screen keyboard; size the panel to the visual viewport instead.
  function fitToVisualViewport() {
    var vv = window.visualViewport;
    var panel = state.els.panel;
    if (!vv || !state.open || !(narrowQuery && narrowQuery.matches)) {
      panel.style.height = '';
      panel.style.top = '';
      return;
    }
    panel.style.height = vv.height + 'px';
    panel.style.top = vv.offsetTop + 'px';
  }

  function setUnread(on) {
    state.unread = on;
    state.els.unread.hidden = !on;
  }

  /* ------------------------------------------------------------- rendering */

  function isNearBottom() {
    var m = state.els.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollToBottom(force) {
    var m = state.els.messages;
    if (force || isNearBottom()) m.scrollTop = m.scrollHeight;
  }

  // Append before the typing indicator so the dots always stay last.
  function appendRow(row) {
    var m = state.els.messages;
    var stick = isNearBottom();
    if (state.els.typing && state.els.typing.parentNode === m) m.insertBefore(row, state.els.typing);
    else m.appendChild(row);
    scrollToBottom(stick);
  }

  function messageKey(sessionId, id) {
    return sessionId + ':' + id;
  }

  function markShown(sessionId, id) {
    if (id === null || id === undefined) return false;
    var key = messageKey(sessionId, id);
    if (state.shown[key]) return true;
    state.shown[key] = true;
    return false;
  }

  /*
   * msg: {id?, role, text, buttons?, feedback?}
   * opts: {sessionId, local (greeting, no id / no feedback)}
   */
  function renderMessage(msg, opts) {
    opts = opts || {};
    var role = ['user', 'bot', 'agent', 'system'].indexOf(msg.role) >= 0 ? msg.role : 'bot';
    var text = typeof msg.text === 'string' ? msg.text : '';
    var buttons = Array.isArray(msg.buttons) ? msg.buttons.filter(function (b) { return b && b.title; }) : [];
    if (!text && !buttons.length) return null;

    var row = el('div', { className: 'kefu-row kefu-row--' + role });
    if (msg.id !== undefined && msg.id !== null) row.setAttribute('data-message-id', String(msg.id));

    if (role === 'agent') row.appendChild(el('div', { className: 'kefu-label', text: TEXT.agentLabel }));
    if (text) {
      row.appendChild(el('div', {
        className: 'kefu-msg kefu-msg--' + role, 'data-testid': 'kefu-message', 'data-role': role, text: text
      }));
    }
    if (buttons.length) row.appendChild(renderButtons(buttons));
    // Rate answers only: an answer has no buttons (是/否 and clarify options are prompts).
    if (role === 'bot' && !opts.local && msg.id !== undefined && msg.id !== null &&
        !buttons.length && charCount(text) > FEEDBACK_MIN_CHARS) {
      row.appendChild(renderFeedback(opts.sessionId, msg.id, msg.feedback));
    }

    appendRow(row);
    if (buttons.length) refreshButtonGroups();
    return row;
  }

  // Server-side messages (history, POST replies, SSE) go through here so each id renders once.
  function renderServerMessage(msg, sessionId) {
    if (!msg || markShown(sessionId, msg.id)) return null;
    if (msg.role === 'user' && Object.prototype.hasOwnProperty.call(state.payloadTitles, msg.text)) {
      msg = Object.assign({}, msg, { text: state.payloadTitles[msg.text] });
    }
    return renderMessage(msg, { sessionId: sessionId });
  }

  function renderSystem(text) {
    return renderMessage({ role: 'system', text: text }, { local: true });
  }

  function showGreetingIfEmpty() {
    if (state.els.messages.querySelector('.kefu-row')) return;
    var row = renderMessage({ role: 'bot', text: GREETING }, { local: true });
    if (row) row.classList.add('kefu-row--greeting');
  }

  function renderButtons(buttons) {
    var group = el('div', { className: 'kefu-buttons', role: 'group', 'aria-label': TEXT.quickReplies });
    buttons.forEach(function (b) {
      if (b.payload) state.payloadTitles[String(b.payload)] = String(b.title);
      var btn = el('button', {
        type: 'button', className: 'kefu-button', 'data-testid': 'kefu-button', text: String(b.title)
      });
      btn.addEventListener('click', function () { onQuickReply(group, btn, b); });
      group.appendChild(btn);
    });
    return group;
  }

  /*
   * Only the newest button group is clickable, and only until it is used or the
   * user has moved on (sent something after it). Derived from the DOM so a
   * failed send that removes its bubble re-enables the buttons automatically.
   */
  function refreshButtonGroups() {
    var rows = state.els.messages.querySelectorAll('.kefu-row');
    var lastGroup = null;
    var userAfter = false;
    Array.prototype.forEach.call(rows, function (row) {
      var g = row.querySelector('.kefu-buttons');
      if (g) { lastGroup = g; userAfter = false; } else if (row.classList.contains('kefu-row--user') &&
        !row.classList.contains('kefu-row--failed')) { userAfter = true; }
    });
    var groups = state.els.messages.querySelectorAll('.kefu-buttons');
    Array.prototype.forEach.call(groups, function (g) {
      var active = g === lastGroup && !userAfter && !g.hasAttribute('data-used');
      Array.prototype.forEach.call(g.querySelectorAll('button'), function (btn) { btn.disabled = !active; });
    });
  }

  function renderFeedback(sessionId, messageId, existing) {
    var up = el('button', {
      type: 'button', className: 'kefu-fb kefu-fb--up', 'aria-label': TEXT.helpful, title: TEXT.helpful,
      'aria-pressed': 'false', 'data-testid': 'kefu-feedback-up'
    }, [icon('up', 16)]);
    var down = el('button', {
      type: 'button', className: 'kefu-fb kefu-fb--down', 'aria-label': TEXT.notHelpful, title: TEXT.notHelpful,
      'aria-pressed': 'false', 'data-testid': 'kefu-feedback-down'
    }, [icon('down', 16)]);
    var box = el('div', { className: 'kefu-feedback' }, [up, down]);
    if (existing === 'up' || existing === 'down') markFeedback(up, down, existing);
    up.addEventListener('click', function () { sendFeedback(sessionId, messageId, 'up', up, down); });
    down.addEventListener('click', function () { sendFeedback(sessionId, messageId, 'down', up, down); });
    return box;
  }

  function markFeedback(up, down, value) {
    var chosen = value === 'up' ? up : down;
    up.disabled = true;
    down.disabled = true;
    if (value) {
      chosen.classList.add('is-selected');
      chosen.setAttribute('aria-pressed', 'true');
    }
  }

  function unmarkFeedback(up, down) {
    [up, down].forEach(function (b) {
      b.disabled = false;
      b.classList.remove('is-selected');
      b.setAttribute('aria-pressed', 'false');
    });
  }

  function showTyping(on) {
    var m = state.els.messages;
    if (on) {
      if (!state.els.typing) {
        state.els.typing = el('div', {
          className: 'kefu-row kefu-row--bot kefu-typing-row', 'data-testid': 'kefu-typing',
          role: 'img', 'aria-label': TEXT.typing
        }, [el('div', { className: 'kefu-typing' }, [el('span'), el('span'), el('span')])]);
      }
      m.appendChild(state.els.typing);
      scrollToBottom(true);
    } else if (state.els.typing && state.els.typing.parentNode) {
      state.els.typing.parentNode.removeChild(state.els.typing);
    }
  }

  function setConvState(value) {
    if (value !== 'bot' && value !== 'waiting_agent' && value !== 'agent') return;
    state.convState = value;
    var label = value === 'waiting_agent' ? TEXT.waitingAgent : value === 'agent' ? TEXT.agentJoined : '';
    state.els.state.textContent = label;
    state.els.state.hidden = !label;
    state.els.state.setAttribute('data-state', value);
  }

  function clearMessages() {
    var m = state.els.messages;
    while (m.firstChild) m.removeChild(m.firstChild);
    state.shown = {};
    state.payloadTitles = {};
  }

  /* ------------------------------------------------------------------ sending */

  function autoGrowInput() {
    var input = state.els.input;
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 120) + 'px';
    state.els.form.classList.toggle('kefu-composer--empty', !input.value.trim());
  }

  function onInputKeydown(e) {
    // Enter sends; Shift+Enter is a newline; Enter while an IME (拼音输入法) is composing picks a candidate.
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    sendTyped();
  }

  function sendTyped() {
    var input = state.els.input;
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    autoGrowInput();
    sendMessage({ text: text.slice(0, MAX_LENGTH) }, text, null);
  }

  function onQuickReply(group, btn, b) {
    if (btn.disabled) return;
    group.setAttribute('data-used', '');
    btn.classList.add('is-selected');
    refreshButtonGroups();
    sendMessage({ payload: String(b.payload || b.title) }, String(b.title), group);
  }

  function postMessage(body, retried) {
    return ensureSession().then(function (s) {
      return request('POST', sessionPath(s, '/messages'), body, s.token).then(function (res) {
        // Expired or unknown session: start a fresh one and retry exactly once.
        if (res.status === 401 && !retried) {
          setSession(null);
          return postMessage(body, true);
        }
        res.session = s;
        return res;
      });
    });
  }

  /*
   * body: {text} or {payload}; display: what the user bubble shows;
   * group: the quick-reply group that triggered it (re-enabled if the send fails).
   */
  function sendMessage(body, display, group) {
    // The bubble shows at once; the request waits its turn so replies come back in order.
    var userRow = renderMessage({ role: 'user', text: display }, { local: true });
    refreshButtonGroups();
    scrollToBottom(true);
    state.pending += 1;
    showTyping(true);

    var generation = state.generation;
    var previous = state.queue || Promise.resolve();
    var job = previous.then(function () {
      if (generation !== state.generation) return null;
      return postMessage(body, false).then(function (res) {
        if (generation !== state.generation) return;
        if (res.status >= 200 && res.status < 300 && res.data) {
          onReplies(res.data, res.session, userRow);
        } else {
          onSendError(res.status, res.data, body, userRow, group);
        }
      }, function () {
        if (generation === state.generation) onSendError(0, null, body, userRow, group);
      });
    }).finally(function () {
      if (generation !== state.generation) return;
      state.pending = Math.max(0, state.pending - 1);
      showTyping(state.pending > 0);
    });
    state.queue = job;
    return job;
  }

  function onReplies(data, session, userRow) {
    if (userRow && data.user_message_id !== undefined && data.user_message_id !== null) {
      userRow.setAttribute('data-message-id', String(data.user_message_id));
      markShown(session.session_id, data.user_message_id); // don't re-render our own message from history/SSE
    }
    var replies = Array.isArray(data.replies) ? data.replies : [];
    replies.forEach(function (r) {
      renderServerMessage({ id: r.id, role: r.role || 'bot', text: r.text, buttons: r.buttons }, session.session_id);
    });
    if (data.state) setConvState(data.state);
    if (!state.open && replies.length) setUnread(true);
  }

  function onSendError(status, data, body, userRow, group) {
    var retryable = status === 0 || status === 429 || status >= 500 || status === 401;
    if (retryable) {
      // Nothing was stored: take the bubble back and give the text back to the user to resend.
      if (userRow && userRow.parentNode) userRow.parentNode.removeChild(userRow);
      if (group) group.removeAttribute('data-used');
      if (group) Array.prototype.forEach.call(group.querySelectorAll('.is-selected'), function (b) { b.classList.remove('is-selected'); });
      if (body.text && !state.els.input.value) {
        state.els.input.value = body.text;
        autoGrowInput();
      }
    } else if (userRow) {
      // 413/422: the message itself was rejected; keep it visible but marked so the user knows.
      userRow.classList.add('kefu-row--failed');
      userRow.appendChild(el('div', { className: 'kefu-failed-note', text: TEXT.notSent }));
      if (group) group.removeAttribute('data-used');
    }
    refreshButtonGroups();

    if (status === 429) renderSystem(TEXT.tooFrequent);
    else if (status === 413) renderSystem(errorDetail(data, TEXT.tooLong));
    else if (status === 422) renderSystem(errorDetail(data, TEXT.invalid));
    else if (status >= 400 && status < 500 && status !== 401) renderSystem(errorDetail(data, TEXT.network));
    else renderSystem(TEXT.network);
  }

  /* ----------------------------------------------------------------- feedback */

  function sendFeedback(sessionId, messageId, value, up, down) {
    if (up.disabled) return;
    var s = state.session;
    markFeedback(up, down, value); // optimistic; reverted on failure
    if (!s || s.session_id !== sessionId) {
      unmarkFeedback(up, down);
      renderSystem(TEXT.feedbackFailed);
      return Promise.resolve();
    }
    var url = sessionPath(s, '/messages/' + encodeURIComponent(String(messageId)) + '/feedback');
    return request('POST', url, { value: value }, s.token).then(function (res) {
      if (res.status < 200 || res.status >= 300) throw new Error('feedback ' + res.status);
    }).catch(function () {
      unmarkFeedback(up, down);
      renderSystem(TEXT.feedbackFailed);
    });
  }

  /* ------------------------------------------------------------------ history */

  function fetchHistory(s) {
    return request('GET', sessionPath(s, '/messages'), undefined, s.token).then(function (res) {
      if (res.status === 401 || res.status === 404) {
        // The stored session is gone; a new one is created lazily on the next open/send.
        if (state.session === s) setSession(null);
        return;
      }
      if (res.status < 200 || res.status >= 300 || !res.data) return;
      if (state.session !== s) return; // reset while the request was in flight
      state.historyLoaded = true;
      var list = Array.isArray(res.data.messages) ? res.data.messages : [];
      if (list.length) {
        // History replaces the local greeting.
        var greeting = state.els.messages.querySelector('.kefu-row--greeting');
        if (greeting) greeting.parentNode.removeChild(greeting);
      }
      list.forEach(function (m) { renderServerMessage(m, s.session_id); });
      refreshButtonGroups();
      if (res.data.state) setConvState(res.data.state);
      scrollToBottom(true);
    }).catch(function () { /* offline: keep whatever is on screen */ });
  }

  /* ------------------------------------------------------------------- events */

  // One EventSource per session, kept open while the panel is closed so agent replies still arrive.
  function connectEvents() {
    var s = state.session;
    if (!s || typeof window.EventSource !== 'function') return;
    var url = sessionPath(s, '/events?token=' + encodeURIComponent(s.token));
    var source = new EventSource(url);
    var hadError = false;
    state.events = source;

    source.addEventListener('open', function () {
      state.eventsFailures = 0;
      // After a reconnect, pick up anything sent while we were disconnected.
      if (hadError) { hadError = false; fetchHistory(s); }
    });
    source.addEventListener('message', function (e) { onEventMessage(e, s); });
    source.addEventListener('state', function (e) {
      var data = parseEventData(e);
      if (data && data.state) setConvState(data.state);
    });
    source.addEventListener('error', function () {
      hadError = true;
      // EventSource retries by itself unless the server refused (HTTP error): then readyState is CLOSED.
      if (source.readyState === EventSource.CLOSED && state.events === source) scheduleReconnect(s);
    });
  }

  function scheduleReconnect(s) {
    disconnectEvents();
    state.eventsFailures += 1;
    if (state.eventsFailures > 5) return; // stop hammering; the next send re-validates the session
    var delay = Math.min(30000, 1000 * Math.pow(2, state.eventsFailures));
    state.reconnectTimer = setTimeout(function () {
      state.reconnectTimer = null;
      if (state.session !== s) return;
      // Check the session first so an expired token doesn't loop on 401s.
      fetchHistory(s).then(function () { if (state.session === s && !state.events) connectEvents(); });
    }, delay);
  }

  function disconnectEvents() {
    if (state.reconnectTimer) { clearTimeout(state.reconnectTimer); state.reconnectTimer = null; }
    if (state.events) { state.events.close(); state.events = null; }
  }

  function parseEventData(e) {
    try { return JSON.parse(e.data); } catch (err) { return null; }
  }

  function onEventMessage(e, s) {
    var data = parseEventData(e);
    if (!data || state.session !== s) return;
    var row = renderServerMessage({
      id: data.id, role: data.role || 'agent', text: data.text, buttons: data.buttons
    }, s.session_id);
    if (row && !state.open) setUnread(true);
  }

  /* -------------------------------------------------------------- public API */

  function reset() {
    state.generation += 1;
    disconnectEvents();
    state.session = null;
    state.sessionPromise = null;
    state.historyPromise = null;
    state.historyLoaded = false;
    storeSession(null);
    state.pending = 0;
    state.queue = null;
    showTyping(false);
    clearMessages();
    setConvState('bot');
    setUnread(false);
    state.els.input.value = '';
    autoGrowInput();
    if (state.open) showGreetingIfEmpty();
  }

  function init() {
    if (state.els.root) return;
    injectStylesheet();
    buildWidget();
    var stored = loadStoredSession();
    if (stored) {
      state.session = stored;
      state.historyPromise = fetchHistory(stored).then(function () {
        if (state.session === stored) connectEvents();
      });
    }
    if (window.visualViewport) {
      window.visualViewport.addEventListener('resize', fitToVisualViewport);
      window.visualViewport.addEventListener('scroll', fitToVisualViewport);
    }
    if (narrowQuery && narrowQuery.addEventListener) {
      narrowQuery.addEventListener('change', function () { fitToVisualViewport(); lockPageScroll(state.open); });
    }
  }

  // Callers (tests, host pages) may reach for the API before DOMContentLoaded; wait for it.
  function whenReady(fn) {
    return function () {
      if (state.els.root) return fn();
      if (document.body) { init(); return fn(); }
      return new Promise(function (resolve) {
        document.addEventListener('DOMContentLoaded', function () { init(); resolve(fn()); });
      });
    };
  }

  window.KefuWidget = {
    open: whenReady(openPanel),
    close: whenReady(closePanel),
    reset: whenReady(reset)
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
