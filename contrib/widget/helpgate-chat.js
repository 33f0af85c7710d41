/*
 * helpgate chat widget: plain JavaScript, no framework, no build step.
 *
 * Embed with one tag (see README.md):
 *   <script src="https://support.example.com/helpgate-chat.js"
 *           data-helpgate-email="support@example.com"
 *           data-helpgate-title="Support" defer></script>
 *
 * Speaks the "helpgate.chat.v1" websocket protocol (PROTOCOL.md) with the
 * helpgated that served this file. Every piece of text from the server or the
 * visitor reaches the page through textContent or text nodes, never as HTML.
 */
(function () {
  'use strict';

  if (window.HelpgateChat && window.HelpgateChat.__helpgate) {
    return; /* included twice: the first copy wins */
  }

  var PROTOCOL = 'helpgate.chat.v1';
  var STORE_KEY = 'helpgate-chat';
  var BACKOFF_START_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var FAILURES_BEFORE_FALLBACK = 3;
  var CONNECT_TIMEOUT_MS = 10000;   /* open + welcome must arrive within this */
  var ACK_TIMEOUT_MS = 20000;       /* an unacked message this old means a dead socket */
  var TYPING_SEND_EVERY_MS = 3000;
  var TYPING_IDLE_MS = 5000;
  var TYPING_SHOW_MS = 5000;
  var RATE_LIMIT_RETRY_MS = 4000;
  var OUTBOX_MAX = 50;

  /* Find our own <script> now: currentScript is only set while it runs. */
  function findScript() {
    var s = document.currentScript;
    if (s && s.src) {
      return s;
    }
    var list = document.querySelectorAll('script[src]');
    for (var i = list.length - 1; i >= 0; i--) {
      if (/helpgate-chat\.js(?:[?#]|$)/.test(list[i].src)) {
        return list[i];
      }
    }
    return null;
  }

  var script = findScript();

  function attr(name, fallback) {
    var v = script ? script.getAttribute(name) : null;
    return v === null || v === '' ? fallback : v;
  }

  function deriveWsUrl() {
    var explicit = attr('data-helpgate-url', null);
    try {
      if (explicit) {
        var u = new URL(explicit, window.location.href);
        if (u.protocol === 'http:') {
          u.protocol = 'ws:';
        } else if (u.protocol === 'https:') {
          u.protocol = 'wss:';
        }
        return u.href;
      }
      var base = new URL(script && script.src ? script.src : window.location.href,
                         window.location.href);
      return (base.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + base.host + '/chat';
    } catch (e) {
      return (window.location.protocol === 'https:' ? 'wss:' : 'ws:') +
        '//' + window.location.host + '/chat';
    }
  }

  var CONFIG = {
    wsUrl: deriveWsUrl(),
    email: attr('data-helpgate-email', ''),
    title: attr('data-helpgate-title', 'Support'),
    css: attr('data-helpgate-css', ''),
    theme: attr('data-helpgate-theme', 'auto')
  };

  /* ------------------------------------------------------------------ */
  /* Small helpers                                                        */
  /* ------------------------------------------------------------------ */

  var uidCounter = 0;
  function uid(prefix) {
    uidCounter += 1;
    return prefix + uidCounter.toString(36) + Math.random().toString(36).slice(2, 7);
  }

  var clientIdCounter = 0;
  function newClientId() {
    clientIdCounter += 1;
    return 'c-' + Date.now().toString(36) + '-' + clientIdCounter.toString(36) +
      Math.random().toString(36).slice(2, 6);
  }

  /* createElement with attributes; "text" sets textContent. */
  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) {
          return;
        }
        if (k === 'class') {
          n.className = v;
        } else if (k === 'text') {
          n.textContent = v;
        } else {
          n.setAttribute(k, v === true ? '' : String(v));
        }
      });
    }
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) {
        n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
      }
    });
    return n;
  }

  function svgIcon(kind) {
    var NS = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '24');
    svg.setAttribute('height', '24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'hg-chat-icon');
    var p = document.createElementNS(NS, 'path');
    if (kind === 'close') {
      p.setAttribute('d', 'M6 6l12 12M18 6L6 18');
      p.setAttribute('fill', 'none');
      p.setAttribute('stroke', 'currentColor');
      p.setAttribute('stroke-width', '2.2');
      p.setAttribute('stroke-linecap', 'round');
    } else {
      p.setAttribute('d', 'M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16A2.5 2.5 0 0 1 4 13.5z');
      p.setAttribute('fill', 'currentColor');
    }
    svg.appendChild(p);
    return svg;
  }

  function str(v) {
    return typeof v === 'string' ? v : (v === null || v === undefined ? '' : String(v));
  }

  function jitter(ms) {
    return Math.round(ms * (0.7 + Math.random() * 0.6));
  }

  function formatTime(at) {
    var d = at ? new Date(at) : new Date();
    if (isNaN(d.getTime())) {
      d = new Date();
    }
    try {
      var t = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
      if (d.toDateString() !== new Date().toDateString()) {
        t = d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ', ' + t;
      }
      return t;
    } catch (e) {
      return d.toISOString().slice(11, 16);
    }
  }

  /* Append text to parent, turning http(s) URLs into safe links. */
  var URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  function appendLinkified(parent, text) {
    var last = 0;
    var m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) {
      var raw = m[0].replace(/[)\].,;:!?]+$/, '');
      var start = m.index;
      if (start > last) {
        parent.appendChild(document.createTextNode(text.slice(last, start)));
      }
      var node = null;
      try {
        var u = new URL(raw);
        if (u.protocol === 'http:' || u.protocol === 'https:') {
          node = el('a', { href: u.href, target: '_blank', rel: 'noopener noreferrer nofollow', text: raw });
        }
      } catch (e) {
        node = null;
      }
      parent.appendChild(node || document.createTextNode(raw));
      last = start + raw.length;
      URL_RE.lastIndex = last;
    }
    if (last < text.length) {
      parent.appendChild(document.createTextNode(text.slice(last)));
    }
  }

  /* ------------------------------------------------------------------ */
  /* Persistent state (localStorage may throw: private mode, blocked)     */
  /* ------------------------------------------------------------------ */

  function loadStore() {
    try {
      var raw = window.localStorage.getItem(STORE_KEY);
      var o = raw ? JSON.parse(raw) : null;
      if (!o || typeof o !== 'object') {
        return {};
      }
      var out = {
        name: typeof o.name === 'string' ? o.name.slice(0, 200) : '',
        email: typeof o.email === 'string' ? o.email.slice(0, 320) : '',
        resume: typeof o.resume === 'string' && o.resume.length <= 256 ? o.resume : null,
        outbox: []
      };
      if (Array.isArray(o.outbox)) {
        o.outbox.slice(-OUTBOX_MAX).forEach(function (m) {
          if (m && typeof m.id === 'string' && typeof m.text === 'string') {
            out.outbox.push({ id: m.id, text: m.text, at: str(m.at) });
          }
        });
      }
      return out;
    } catch (e) {
      return {};
    }
  }

  /* ------------------------------------------------------------------ */
  /* Widget state                                                         */
  /* ------------------------------------------------------------------ */

  var S = {
    view: 'start',        /* start | chat | fallback */
    connected: false,     /* true between welcome and the socket's close */
    closed: false,        /* the server ended the conversation */
    ticket: null,
    name: '',
    email: '',
    resume: null,
    messages: []          /* see addMessage() */
  };

  var stored = loadStore();
  S.name = stored.name || '';
  S.email = stored.email || '';
  S.resume = stored.resume || null;

  function outbox() {
    return S.messages.filter(function (m) {
      return m.from === 'visitor' && m.status === 'sending' && m.id;
    });
  }

  function saveStore() {
    try {
      var data = { name: S.name, email: S.email, resume: S.resume };
      var box = outbox().slice(-OUTBOX_MAX).map(function (m) {
        return { id: m.id, text: m.text, at: m.at };
      });
      if (box.length) {
        data.outbox = box;
      }
      window.localStorage.setItem(STORE_KEY, JSON.stringify(data));
    } catch (e) {
      /* storage unavailable: the chat still works for this page's life */
    }
  }

  /* ------------------------------------------------------------------ */
  /* DOM                                                                  */
  /* ------------------------------------------------------------------ */

  var ui = {};

  function build() {
    var panelId = uid('hg-chat-panel-');
    var nameId = uid('hg-chat-name-');
    var emailId = uid('hg-chat-email-');
    var startErrId = uid('hg-chat-start-err-');
    var inputId = uid('hg-chat-input-');
    var hintId = uid('hg-chat-hint-');
    var subjId = uid('hg-chat-fb-subject-');
    var bodyId = uid('hg-chat-fb-body-');
    var fbTitleId = uid('hg-chat-fb-title-');

    ui.root = el('div', { class: 'hg-chat-root', 'data-hg-theme': CONFIG.theme });

    ui.badge = el('span', { class: 'hg-chat-badge', hidden: true });
    ui.launcher = el('button', {
      type: 'button',
      class: 'hg-chat-launcher',
      'data-testid': 'launcher',
      'aria-expanded': 'false',
      'aria-controls': panelId
    }, [svgIcon('chat'), el('span', { class: 'hg-chat-launcher-label', text: CONFIG.title }), ui.badge]);

    /* header */
    ui.ticket = el('span', { class: 'hg-chat-ticket', 'data-testid': 'ticket', hidden: true });
    ui.close = el('button', {
      type: 'button', class: 'hg-chat-close', 'aria-label': 'Close chat', title: 'Close (Esc)',
      'data-testid': 'close'
    }, [svgIcon('close')]);
    var header = el('div', { class: 'hg-chat-header' }, [
      el('div', { class: 'hg-chat-heading' }, [
        el('h2', { class: 'hg-chat-title', text: CONFIG.title }),
        ui.ticket
      ]),
      ui.close
    ]);

    ui.status = el('p', {
      class: 'hg-chat-status', 'data-testid': 'status', role: 'status',
      'aria-live': 'polite', 'data-state': 'idle'
    });

    /* start view */
    ui.name = el('input', {
      id: nameId, type: 'text', class: 'hg-chat-field', 'data-testid': 'name',
      autocomplete: 'name', required: true, maxlength: '100', 'aria-describedby': startErrId
    });
    ui.email = el('input', {
      id: emailId, type: 'email', class: 'hg-chat-field', 'data-testid': 'email',
      autocomplete: 'email', maxlength: '254', 'aria-describedby': startErrId
    });
    ui.startErr = el('p', { id: startErrId, class: 'hg-chat-error', hidden: true });
    ui.start = el('button', { type: 'submit', class: 'hg-chat-button hg-chat-primary', 'data-testid': 'start', text: 'Start chat' });
    ui.startForm = el('form', { class: 'hg-chat-start', novalidate: true }, [
      el('p', { class: 'hg-chat-intro', text: 'Hello! Tell us your name and we will connect you with ' + CONFIG.title + '.' }),
      el('div', { class: 'hg-chat-row' }, [
        el('label', { for: nameId, class: 'hg-chat-label', text: 'Your name' }),
        ui.name
      ]),
      el('div', { class: 'hg-chat-row' }, [
        el('label', { for: emailId, class: 'hg-chat-label' }, [
          'Email ', el('span', { class: 'hg-chat-optional', text: '(optional, for replies by email)' })
        ]),
        ui.email
      ]),
      ui.startErr,
      ui.start
    ]);
    ui.viewStart = el('div', { class: 'hg-chat-view hg-chat-view-start' }, [ui.startForm]);

    /* chat view */
    ui.log = el('div', {
      class: 'hg-chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation',
      'data-testid': 'log', tabindex: '0'
    });
    ui.typing = el('p', { class: 'hg-chat-typing', 'aria-live': 'polite', 'data-testid': 'typing', hidden: true });
    ui.closedReason = el('p', { class: 'hg-chat-closed-reason' });
    ui.restart = el('button', { type: 'button', class: 'hg-chat-button hg-chat-primary', 'data-testid': 'new-conversation', text: 'Start a new conversation' });
    ui.closedBox = el('div', { class: 'hg-chat-closed', hidden: true, 'data-testid': 'closed' }, [ui.closedReason, ui.restart]);
    ui.input = el('textarea', {
      id: inputId, class: 'hg-chat-field hg-chat-input', 'data-testid': 'input', rows: '2',
      placeholder: 'Type your message…', 'aria-describedby': hintId
    });
    ui.send = el('button', { type: 'submit', class: 'hg-chat-button hg-chat-primary hg-chat-send', 'data-testid': 'send', text: 'Send' });
    ui.composer = el('form', { class: 'hg-chat-composer' }, [
      el('label', { for: inputId, class: 'hg-chat-sr', text: 'Message' }),
      el('div', { class: 'hg-chat-composer-row' }, [ui.input, ui.send]),
      el('p', { id: hintId, class: 'hg-chat-hint', text: 'Enter sends, Shift+Enter adds a new line.' })
    ]);
    ui.viewChat = el('div', { class: 'hg-chat-view hg-chat-view-chat', hidden: true }, [
      ui.log, ui.typing, ui.closedBox, ui.composer
    ]);

    /* fallback view: email instead */
    ui.fbSubject = el('input', { id: subjId, type: 'text', class: 'hg-chat-field', 'data-testid': 'fallback-subject', maxlength: '200' });
    ui.fbBody = el('textarea', { id: bodyId, class: 'hg-chat-field', rows: '5', 'data-testid': 'fallback-message' });
    ui.fbMail = el('a', { class: 'hg-chat-button hg-chat-primary', 'data-testid': 'fallback-send', href: '#', text: 'Write the email' });
    ui.retry = el('button', { type: 'button', class: 'hg-chat-button', 'data-testid': 'retry', text: 'Try again' });
    var fbChildren;
    if (CONFIG.email) {
      fbChildren = [
        el('h3', { id: fbTitleId, class: 'hg-chat-subtitle', text: 'Email us instead' }),
        el('p', { class: 'hg-chat-intro' }, [
          'We cannot reach the chat right now. Write your question here and your email program will open a message to ',
          el('strong', { text: CONFIG.email }), '.'
        ]),
        el('div', { class: 'hg-chat-row' }, [el('label', { for: subjId, class: 'hg-chat-label', text: 'Subject' }), ui.fbSubject]),
        el('div', { class: 'hg-chat-row' }, [el('label', { for: bodyId, class: 'hg-chat-label', text: 'Message' }), ui.fbBody]),
        el('div', { class: 'hg-chat-actions' }, [ui.fbMail, ui.retry])
      ];
    } else {
      fbChildren = [
        el('h3', { id: fbTitleId, class: 'hg-chat-subtitle', text: 'Chat unavailable' }),
        el('p', { class: 'hg-chat-intro', text: 'We cannot reach the chat right now. Please try again in a little while.' }),
        el('div', { class: 'hg-chat-actions' }, [ui.retry])
      ];
    }
    ui.viewFallback = el('div', {
      class: 'hg-chat-view hg-chat-view-fallback', hidden: true, role: 'group',
      'aria-labelledby': fbTitleId, 'data-testid': 'fallback'
    }, fbChildren);

    ui.panel = el('div', {
      id: panelId, class: 'hg-chat-panel', role: 'dialog', 'aria-label': CONFIG.title, hidden: true
    }, [header, ui.status, ui.viewStart, ui.viewChat, ui.viewFallback]);

    ui.root.appendChild(ui.panel);
    ui.root.appendChild(ui.launcher);

    ui.name.value = S.name;
    ui.email.value = S.email;

    wire();
  }

  function loadCss(done) {
    if (CONFIG.css === 'none') {
      done();
      return;
    }
    var href;
    try {
      href = new URL(CONFIG.css || 'helpgate-chat.css',
                     script && script.src ? script.src : window.location.href).href;
    } catch (e) {
      done();
      return;
    }
    var links = document.querySelectorAll('link[rel="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      if (links[i].href === href) {
        done();
        return;
      }
    }
    var finished = false;
    function finish() {
      if (!finished) {
        finished = true;
        done();
      }
    }
    var link = el('link', { rel: 'stylesheet', href: href });
    link.addEventListener('load', finish);
    link.addEventListener('error', finish);
    window.setTimeout(finish, 3000);
    (document.head || document.documentElement).appendChild(link);
  }

  /* ------------------------------------------------------------------ */
  /* Views, status, panel                                                 */
  /* ------------------------------------------------------------------ */

  var unread = 0;

  function setStatus(text, state) {
    if (ui.status.textContent !== text) {
      ui.status.textContent = text;
    }
    ui.status.setAttribute('data-state', state || 'idle');
  }

  function showView(name) {
    S.view = name;
    ui.viewStart.hidden = name !== 'start';
    ui.viewChat.hidden = name !== 'chat';
    ui.viewFallback.hidden = name !== 'fallback';
    ui.root.setAttribute('data-view', name);
  }

  function isOpen() {
    return !ui.panel.hidden;
  }

  function focusFirst() {
    var target;
    if (S.view === 'start') {
      target = ui.name;
    } else if (S.view === 'chat') {
      target = S.closed ? ui.restart : ui.input;
    } else {
      target = CONFIG.email ? ui.fbSubject : ui.retry;
    }
    try {
      target.focus({ preventScroll: true });
    } catch (e) {
      target.focus();
    }
  }

  function openPanel(moveFocus) {
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.root.classList.add('hg-chat-is-open');
    unread = 0;
    updateBadge();
    scrollLogToEnd(true);
    if (moveFocus !== false) {
      focusFirst();
    }
  }

  function closePanel(returnFocus) {
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.root.classList.remove('hg-chat-is-open');
    if (returnFocus) {
      ui.launcher.focus();
    }
  }

  function updateBadge() {
    ui.badge.textContent = '';
    if (unread > 0 && !isOpen()) {
      ui.badge.appendChild(document.createTextNode(String(unread)));
      ui.badge.appendChild(el('span', { class: 'hg-chat-sr', text: unread === 1 ? ' new message' : ' new messages' }));
      ui.badge.hidden = false;
    } else {
      ui.badge.hidden = true;
    }
  }

  function setTicket(t) {
    if (t === null || t === undefined || t === '') {
      return;
    }
    S.ticket = t;
    ui.ticket.textContent = 'Ticket #' + str(t);
    ui.ticket.hidden = false;
  }

  function setComposerEnabled(on) {
    ui.input.disabled = !on;
    ui.send.disabled = !on;
    ui.input.placeholder = on ? 'Type your message…' : 'This conversation is closed';
  }

  /* ------------------------------------------------------------------ */
  /* Messages                                                             */
  /*   { id, message, from, name, text, at, status, error, retries,      */
  /*     sentGen, sentAt, retryTimer, el, statusEl }                      */
  /*   status: sending | delivered | failed | received                   */
  /* ------------------------------------------------------------------ */

  var lastAgentName = '';

  function displayName(m) {
    if (m.from === 'visitor') {
      return m.name && m.name !== S.name ? m.name : 'You';
    }
    if (m.name) {
      return m.name;
    }
    return m.from === 'agent' ? 'Agent' : CONFIG.title;
  }

  function statusText(m) {
    if (m.from !== 'visitor') {
      return '';
    }
    if (m.status === 'delivered') {
      return 'Delivered';
    }
    if (m.status === 'failed') {
      return 'Not sent: ' + (m.error || 'the server refused this message.');
    }
    if (m.waiting) {
      return 'Waiting a moment before sending…';
    }
    return S.connected ? 'Sending…' : 'Sending… (will send when connected)';
  }

  function renderMessage(m) {
    var text = el('p', { class: 'hg-chat-msg-text', dir: 'auto' });
    appendLinkified(text, m.text);
    var meta = el('p', { class: 'hg-chat-msg-meta' }, [
      el('span', { class: 'hg-chat-msg-name', text: displayName(m) }),
      el('span', { class: 'hg-chat-msg-sep', 'aria-hidden': 'true', text: ' · ' }),
      el('time', { class: 'hg-chat-msg-time', datetime: m.at || null, text: formatTime(m.at) })
    ]);
    m.el = el('div', {
      class: 'hg-chat-msg hg-chat-msg-' + m.from, 'data-testid': 'message', 'data-from': m.from
    }, [meta, text]);
    if (m.from === 'visitor') {
      m.statusEl = el('p', { class: 'hg-chat-msg-status' });
      m.el.appendChild(m.statusEl);
    }
    updateMessageStatus(m);
  }

  function updateMessageStatus(m) {
    if (!m.el) {
      return;
    }
    m.el.setAttribute('data-status', m.waiting && m.status === 'sending' ? 'waiting' : m.status);
    if (m.id) {
      m.el.setAttribute('data-id', m.id);
    }
    if (m.statusEl) {
      var t = statusText(m);
      if (m.statusEl.textContent !== t) {
        m.statusEl.textContent = t;
      }
    }
  }

  function refreshPendingStatuses() {
    outbox().forEach(updateMessageStatus);
  }

  function nearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
  }

  function scrollLogToEnd(force) {
    if (force || nearBottom()) {
      ui.log.scrollTop = ui.log.scrollHeight;
    }
  }

  function findMessage(serverId, clientId) {
    for (var i = 0; i < S.messages.length; i++) {
      var m = S.messages[i];
      if (serverId !== null && serverId !== undefined && m.message === serverId) {
        return m;
      }
      if (clientId && m.id === clientId) {
        return m;
      }
    }
    return null;
  }

  function addMessage(m) {
    var stick = nearBottom();
    S.messages.push(m);
    renderMessage(m);
    ui.log.appendChild(m.el);
    scrollLogToEnd(stick);
  }

  function normalizeServerMessage(f) {
    var from = f.from === 'agent' || f.from === 'system' || f.from === 'visitor' ? f.from : 'system';
    var num = typeof f.message === 'number' || typeof f.message === 'string' ? f.message : null;
    return {
      id: typeof f.id === 'string' && f.id ? f.id : null,
      message: num,
      from: from,
      name: str(f.name),
      text: str(f.text),
      at: str(f.at)
    };
  }

  /* Insert or update a message from the server; returns [msg, isNew]. */
  function upsertServerMessage(n, append) {
    var m = findMessage(n.message, n.id);
    if (m) {
      if (n.message !== null) {
        m.message = n.message;
      }
      if (m.from === 'visitor' && m.status !== 'delivered') {
        clearRetry(m);
        m.status = 'delivered';
        m.error = '';
        m.waiting = false;
      }
      updateMessageStatus(m);
      return [m, false];
    }
    m = {
      id: n.id, message: n.message, from: n.from, name: n.name, text: n.text,
      at: n.at || new Date().toISOString(),
      status: n.from === 'visitor' ? 'delivered' : 'received'
    };
    if (append) {
      addMessage(m);
    } else {
      S.messages.push(m);
      renderMessage(m);
    }
    if (m.from === 'agent' && m.name) {
      lastAgentName = m.name;
    }
    return [m, true];
  }

  /* Welcome's history: the server's order. Messages we hold that the server
     did not list stay where they were (after the listed message they
     followed), except unsent ones, which go to the end: they will be sent
     after the history. */
  function mergeHistory(history) {
    var stick = nearBottom();
    var before = S.messages.slice();
    var listed = [];
    history.forEach(function (h) {
      if (!h || typeof h !== 'object') {
        return;
      }
      var r = upsertServerMessage(normalizeServerMessage(h), false);
      if (listed.indexOf(r[0]) < 0) {
        listed.push(r[0]);
      }
    });
    var after = {};   /* index in listed -> unlisted messages that followed it */
    var tail = [];
    var anchor = -1;
    before.forEach(function (m) {
      var i = listed.indexOf(m);
      if (i >= 0) {
        anchor = i;
      } else if (m.status === 'sending' || anchor < 0) {
        tail.push(m);
      } else {
        (after[anchor] = after[anchor] || []).push(m);
      }
    });
    var ordered = [];
    listed.forEach(function (m, i) {
      ordered.push(m);
      (after[i] || []).forEach(function (x) {
        ordered.push(x);
      });
    });
    S.messages = ordered.concat(tail);
    S.messages.forEach(function (m) {
      ui.log.appendChild(m.el); /* appendChild moves existing nodes */
    });
    scrollLogToEnd(stick || before.length === 0);
  }

  function clearRetry(m) {
    if (m.retryTimer) {
      window.clearTimeout(m.retryTimer);
      m.retryTimer = null;
    }
  }

  /* ------------------------------------------------------------------ */
  /* Socket                                                               */
  /* ------------------------------------------------------------------ */

  var ws = null;
  var gen = 0;                 /* bumps per socket; stale callbacks are ignored */
  var failures = 0;            /* consecutive attempts that did not reach welcome */
  var everWelcomed = false;
  var reconnectTimer = null;
  var connectTimer = null;
  var watchdog = null;
  var stopReconnecting = false;

  function sendFrame(obj) {
    if (!ws || ws.readyState !== 1) {
      return false;
    }
    try {
      ws.send(JSON.stringify(obj));
      return true;
    } catch (e) {
      return false;
    }
  }

  function dropSocket() {
    window.clearTimeout(connectTimer);
    connectTimer = null;
    if (ws) {
      var old = ws;
      ws = null;
      gen += 1; /* silence its callbacks */
      try {
        old.close(1000);
      } catch (e) { /* ignore */ }
    }
    S.connected = false;
  }

  function connect() {
    window.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    stopReconnecting = false;
    dropSocket();
    gen += 1;
    var myGen = gen;
    setStatus(everWelcomed || failures ? 'Reconnecting…' : 'Connecting…', 'connecting');
    var sock;
    try {
      sock = new window.WebSocket(CONFIG.wsUrl, PROTOCOL);
    } catch (e) {
      ws = null;
      connectionLost(myGen, false);
      return;
    }
    ws = sock;
    connectTimer = window.setTimeout(function () {
      if (gen === myGen && !S.connected) {
        try {
          sock.close();
        } catch (e) { /* onclose follows */ }
      }
    }, CONNECT_TIMEOUT_MS);
    sock.onopen = function () {
      if (gen !== myGen) {
        return;
      }
      var hello = { type: 'hello', name: S.name };
      if (S.email) {
        hello.email = S.email;
      }
      if (S.resume) {
        hello.resume = S.resume;
      }
      var lang = navigator.language || '';
      if (lang.length <= 35 && /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/.test(lang)) {
        hello.lang = lang;
      }
      sendFrame(hello);
    };
    sock.onmessage = function (ev) {
      if (gen === myGen) {
        handleFrame(ev.data);
      }
    };
    sock.onerror = function () { /* onclose follows with the details */ };
    sock.onclose = function () {
      if (gen !== myGen) {
        return;
      }
      var wasConnected = S.connected;
      window.clearTimeout(connectTimer);
      ws = null;
      S.connected = false;
      connectionLost(myGen, wasConnected);
    };
  }

  function backoffDelay(n) {
    return Math.min(BACKOFF_MAX_MS, jitter(Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * Math.pow(2, n))));
  }

  function connectionLost(myGen, wasConnected) {
    if (myGen !== gen) {
      return;
    }
    refreshPendingStatuses();
    setTyping('', false);
    if (S.closed || stopReconnecting) {
      return;
    }
    if (!wasConnected) {
      failures += 1;
    }
    var delay = backoffDelay(wasConnected ? 0 : failures - 1);
    if (failures >= FAILURES_BEFORE_FALLBACK || (!everWelcomed && failures >= 1)) {
      showFallback();
    }
    var secs = Math.max(1, Math.round(delay / 1000));
    if (S.view === 'fallback') {
      setStatus('Chat is unavailable. Trying again in ' + secs + ' s.', 'offline');
    } else {
      setStatus('Connection lost. Reconnecting in ' + secs + ' s…', 'reconnecting');
    }
    reconnectTimer = window.setTimeout(connect, delay);
  }

  function startWatchdog() {
    window.clearInterval(watchdog);
    watchdog = window.setInterval(function () {
      if (!S.connected || !ws) {
        return;
      }
      var now = Date.now();
      var stale = outbox().some(function (m) {
        return !m.waiting && m.sentGen === gen && now - m.sentAt > ACK_TIMEOUT_MS;
      });
      if (stale) {
        try {
          ws.close(4000, 'no ack');
        } catch (e) { /* onclose reconnects */ }
      }
    }, 5000);
  }

  /* ------------------------------------------------------------------ */
  /* Incoming frames                                                      */
  /* ------------------------------------------------------------------ */

  function handleFrame(data) {
    var f;
    try {
      f = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!f || typeof f !== 'object') {
      return;
    }
    switch (f.type) {
    case 'welcome':
      onWelcome(f);
      break;
    case 'ack':
      onAck(f);
      break;
    case 'message':
      onMessage(f);
      break;
    case 'typing':
      if (f.from === 'agent') {
        setTyping(str(f.name), f.state === true);
      }
      break;
    case 'error':
      onError(f);
      break;
    case 'closed':
      onClosed(f);
      break;
    default:
      break; /* unknown frames are ignored: the protocol may grow */
    }
  }

  function onWelcome(f) {
    window.clearTimeout(connectTimer);
    S.connected = true;
    everWelcomed = true;
    failures = 0;
    if (typeof f.resume === 'string' && f.resume) {
      S.resume = f.resume;
    }
    if (S.ticket !== null && str(f.ticket) !== str(S.ticket)) {
      /* the server did not resume our conversation (expired, or a new one) */
      S.ticket = null;
      ui.ticket.hidden = true;
      ui.ticket.textContent = '';
    }
    setTicket(f.ticket);
    mergeHistory(Array.isArray(f.history) ? f.history : []);
    saveStore();
    setStatus('Connected', 'connected');
    if (S.view === 'fallback') {
      if (!ui.fbSubject.value && !ui.fbBody.value) {
        showView('chat');
      } else {
        setStatus('Chat is available again. Press “Try again” to go back to it.', 'connected');
      }
    } else if (S.view === 'start') {
      showView('chat');
    }
    setComposerEnabled(!S.closed);
    flushOutbox(false);
    refreshPendingStatuses();
    startWatchdog();
  }

  function onAck(f) {
    var m = findMessage(null, str(f.id));
    if (m) {
      clearRetry(m);
      m.status = 'delivered';
      m.waiting = false;
      m.error = '';
      if (f.message !== undefined && f.message !== null) {
        m.message = f.message;
      }
      updateMessageStatus(m);
      saveStore();
    }
    if (S.ticket === null) {
      setTicket(f.ticket);
    }
  }

  function onMessage(f) {
    var r = upsertServerMessage(normalizeServerMessage(f), true);
    if (r[1] && r[0].from === 'agent') {
      setTyping('', false);
    }
    if (r[1] && r[0].from !== 'visitor' && !isOpen()) {
      unread += 1;
      updateBadge();
    }
    if (r[0].from === 'visitor') {
      saveStore();
    }
  }

  function onError(f) {
    var code = str(f.code);
    var sentence = str(f.message) || 'Something went wrong.';
    var m = f.id ? findMessage(null, str(f.id)) : null;
    if (m) {
      if (m.status !== 'sending') {
        return; /* already settled (a late duplicate) */
      }
      if (code === 'rate_limited' || (code === 'internal' && (m.retries || 0) < 3)) {
        scheduleRetry(m);
      } else {
        clearRetry(m);
        m.status = 'failed';
        m.error = sentence;
        m.waiting = false;
        updateMessageStatus(m);
        saveStore();
      }
      return;
    }
    if (code === 'rate_limited') {
      setStatus('You are sending messages quickly; we will send the rest in a few seconds.', 'connected');
      window.setTimeout(function () {
        flushOutbox(true);
        if (S.connected) {
          setStatus('Connected', 'connected');
        }
      }, jitter(RATE_LIMIT_RETRY_MS));
      return;
    }
    if (!S.connected) {
      /* refused before welcome: a stale resume token, or a bad name/email */
      if (S.resume && (code === 'resume_unknown' ||
                       (code === 'bad_field' && /resume/.test(sentence)))) {
        S.resume = null;
        saveStore();
        failures = 0;
        window.setTimeout(connect, 0);
        return;
      }
      if (code !== 'bad_field' && code !== 'missing_field') {
        /* internal, not_ready, ...: the close (or the connect timeout)
           brings the reconnect with its backoff */
        setStatus(sentence, 'error');
        return;
      }
      stopReconnecting = true;
      dropSocket();
      showView('start');
      ui.startErr.textContent = sentence;
      ui.startErr.hidden = false;
      setStatus('Could not start the chat: ' + sentence, 'error');
      return;
    }
    setStatus(sentence, 'error');
  }

  function scheduleRetry(m) {
    clearRetry(m);
    m.retries = (m.retries || 0) + 1;
    m.waiting = true;
    updateMessageStatus(m);
    var delay = Math.min(BACKOFF_MAX_MS, jitter(RATE_LIMIT_RETRY_MS * Math.min(m.retries, 4)));
    m.retryTimer = window.setTimeout(function () {
      m.retryTimer = null;
      m.waiting = false;
      updateMessageStatus(m);
      if (m.status === 'sending' && S.connected) {
        transmit(m);
      }
    }, delay);
  }

  function onClosed(f) {
    S.closed = true;
    stopReconnecting = true;
    var reason = str(f.reason) || 'The conversation has ended.';
    outbox().forEach(function (m) {
      clearRetry(m);
      m.status = 'failed';
      m.error = 'the conversation was closed.';
      updateMessageStatus(m);
    });
    saveStore();
    dropSocket();
    window.clearTimeout(reconnectTimer);
    setTyping('', false);
    showView('chat');
    ui.closedReason.textContent = 'This conversation is closed: ' + reason;
    ui.closedBox.hidden = false;
    setComposerEnabled(false);
    setStatus('Conversation closed', 'closed');
  }

  var typingShowTimer = null;
  function setTyping(name, on) {
    window.clearTimeout(typingShowTimer);
    if (!on) {
      ui.typing.hidden = true;
      ui.typing.textContent = '';
      return;
    }
    ui.typing.textContent = (name || lastAgentName || CONFIG.title) + ' is typing…';
    ui.typing.hidden = false;
    typingShowTimer = window.setTimeout(function () {
      setTyping('', false);
    }, TYPING_SHOW_MS);
  }

  /* ------------------------------------------------------------------ */
  /* Outgoing                                                             */
  /* ------------------------------------------------------------------ */

  function transmit(m) {
    if (sendFrame({ type: 'message', id: m.id, text: m.text })) {
      m.sentGen = gen;
      m.sentAt = Date.now();
    }
  }

  /* Send every unacknowledged message not yet sent on this socket (or all
     of them when forced; the server dedupes by id). */
  function flushOutbox(force) {
    if (!S.connected) {
      return;
    }
    outbox().forEach(function (m) {
      if (m.retryTimer) {
        return;
      }
      if (force || m.sentGen !== gen) {
        transmit(m);
      }
    });
  }

  function sendMessage(text) {
    if (!/\S/.test(text) || S.closed) {
      return false;
    }
    var m = {
      id: newClientId(), message: null, from: 'visitor', name: S.name,
      text: text.replace(/\s+$/, ''), at: new Date().toISOString(), status: 'sending'
    };
    addMessage(m);
    scrollLogToEnd(true);
    saveStore();
    stopTyping();
    if (S.connected) {
      transmit(m);
    }
    return true;
  }

  var typingSent = false;
  var typingSentAt = 0;
  var typingIdleTimer = null;

  function noteTyping() {
    if (!S.connected) {
      return;
    }
    if (!/\S/.test(ui.input.value)) {
      stopTyping();
      return;
    }
    var now = Date.now();
    if (!typingSent || now - typingSentAt >= TYPING_SEND_EVERY_MS) {
      if (sendFrame({ type: 'typing', state: true })) {
        typingSent = true;
        typingSentAt = now;
      }
    }
    window.clearTimeout(typingIdleTimer);
    typingIdleTimer = window.setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    window.clearTimeout(typingIdleTimer);
    typingIdleTimer = null;
    if (typingSent) {
      sendFrame({ type: 'typing', state: false });
      typingSent = false;
    }
  }

  /* ------------------------------------------------------------------ */
  /* Fallback: email instead                                              */
  /* ------------------------------------------------------------------ */

  function updateMailto() {
    if (!CONFIG.email) {
      return;
    }
    var subject = ui.fbSubject.value || (CONFIG.title + ' request' + (S.ticket !== null ? ' (ticket #' + S.ticket + ')' : ''));
    var body = ui.fbBody.value;
    if (S.name) {
      body += '\n\n— ' + S.name;
    }
    ui.fbMail.href = 'mailto:' + encodeURIComponent(CONFIG.email).replace(/%40/g, '@') +
      '?subject=' + encodeURIComponent(subject) + '&body=' + encodeURIComponent(body);
  }

  function showFallback() {
    if (S.view === 'fallback') {
      return;
    }
    if (!ui.fbBody.value) {
      var pending = outbox().map(function (m) { return m.text; });
      if (/\S/.test(ui.input.value)) {
        pending.push(ui.input.value);
      }
      ui.fbBody.value = pending.join('\n\n');
    }
    if (!ui.fbSubject.value && S.ticket !== null) {
      ui.fbSubject.value = 'Ticket #' + S.ticket;
    }
    updateMailto();
    var hadFocus = ui.panel.contains(document.activeElement);
    showView('fallback');
    if (hadFocus) {
      focusFirst();
    }
  }

  /* ------------------------------------------------------------------ */
  /* Events                                                               */
  /* ------------------------------------------------------------------ */

  function wire() {
    ui.launcher.addEventListener('click', function () {
      if (isOpen()) {
        closePanel(false);
      } else {
        openPanel(true);
      }
    });
    ui.close.addEventListener('click', function () {
      closePanel(true);
    });
    ui.root.addEventListener('keydown', function (e) {
      if ((e.key === 'Escape' || e.key === 'Esc') && isOpen()) {
        e.preventDefault();
        e.stopPropagation();
        closePanel(true);
      }
    });

    ui.startForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = ui.name.value.trim();
      var email = ui.email.value.trim();
      var problem = '';
      var bad = null;
      if (!name) {
        problem = 'Please tell us your name.';
        bad = ui.name;
      } else if (email && !ui.email.checkValidity()) {
        problem = 'That email address does not look right. Fix it or leave it empty.';
        bad = ui.email;
      }
      ui.name.setAttribute('aria-invalid', bad === ui.name ? 'true' : 'false');
      ui.email.setAttribute('aria-invalid', bad === ui.email ? 'true' : 'false');
      if (bad) {
        ui.startErr.textContent = problem;
        ui.startErr.hidden = false;
        bad.focus();
        return;
      }
      ui.startErr.hidden = true;
      ui.startErr.textContent = '';
      S.name = name;
      S.email = email;
      S.closed = false;
      showView('chat');
      ui.closedBox.hidden = true;
      setComposerEnabled(true);
      ui.input.focus();
      failures = 0;
      connect();
    });

    ui.composer.addEventListener('submit', function (e) {
      e.preventDefault();
      if (sendMessage(ui.input.value)) {
        ui.input.value = '';
        autosize();
      }
      ui.input.focus();
    });

    ui.input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey &&
          !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        if (typeof ui.composer.requestSubmit === 'function') {
          ui.composer.requestSubmit();
        } else {
          ui.send.click();
        }
      }
    });
    ui.input.addEventListener('input', function () {
      autosize();
      noteTyping();
    });

    ui.restart.addEventListener('click', startOver);

    ui.fbSubject.addEventListener('input', updateMailto);
    ui.fbBody.addEventListener('input', updateMailto);
    ui.fbMail.addEventListener('click', updateMailto);
    ui.retry.addEventListener('click', function () {
      if (S.connected) {
        showView('chat');
        setStatus('Connected', 'connected');
        focusFirst();
        return;
      }
      showView(everWelcomed || S.resume || S.name ? 'chat' : 'start');
      failures = 0;
      connect();
      focusFirst();
    });

    window.addEventListener('online', function () {
      if (reconnectTimer && !S.connected) {
        failures = Math.min(failures, 1);
        connect();
      }
    });
  }

  function autosize() {
    ui.input.style.height = 'auto';
    var max = parseFloat(window.getComputedStyle(ui.input).maxHeight) || 160;
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, max) + 'px';
  }

  function startOver() {
    stopReconnecting = true;
    dropSocket();
    window.clearTimeout(reconnectTimer);
    S.messages.forEach(clearRetry);
    S.messages = [];
    S.resume = null;
    S.ticket = null;
    S.closed = false;
    everWelcomed = false;
    failures = 0;
    saveStore();
    while (ui.log.firstChild) {
      ui.log.removeChild(ui.log.firstChild);
    }
    ui.ticket.hidden = true;
    ui.ticket.textContent = '';
    ui.closedBox.hidden = true;
    setComposerEnabled(true);
    ui.name.value = S.name;
    ui.email.value = S.email;
    showView('start');
    setStatus('', 'idle');
    focusFirst();
  }

  /* ------------------------------------------------------------------ */
  /* Start-up                                                             */
  /* ------------------------------------------------------------------ */

  function init() {
    build();
    ui.root.style.display = 'none'; /* until the stylesheet is in */
    document.body.appendChild(ui.root);
    loadCss(function () {
      ui.root.style.display = '';
    });

    /* messages that were waiting for an ack when the page went away */
    (stored.outbox || []).forEach(function (o) {
      addMessage({
        id: o.id, message: null, from: 'visitor', name: S.name, text: o.text,
        at: o.at || new Date().toISOString(), status: 'sending'
      });
    });

    if (S.resume && S.name) {
      showView('chat');
      connect();
    } else {
      showView('start');
    }
    ready = true;
    if (openWhenReady) {
      openPanel(true);
    }
  }

  var ready = false;
  var openWhenReady = false;

  window.HelpgateChat = {
    __helpgate: true,
    open: function () {
      if (ready) {
        openPanel(true);
      } else {
        openWhenReady = true;
      }
    },
    close: function () {
      openWhenReady = false;
      if (ready) {
        closePanel(false);
      }
    },
    state: function () {
      return {
        connected: S.connected,
        ticket: S.ticket,
        messages: S.messages.map(function (m) {
          return { from: m.from, text: m.text, status: m.status };
        })
      };
    }
  };

  if (document.body) {
    init();
  } else {
    document.addEventListener('DOMContentLoaded', init);
  }
})();
