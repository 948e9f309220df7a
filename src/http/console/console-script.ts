/**
 * The one script of the console (served as /console.js), no framework: the pages are rendered
 * on the server and work without it; it adds the live updates of a line's page and sends
 * "Confirmer" without leaving the page. It renders nothing itself: the server sends the
 * changed fragments (the same renderers as the page), and the script puts them in place.
 *
 * Kept as text here so the compiled build (tsc, which copies no assets) serves it as it is;
 * the browser tests (test/e2e/console-browser.e2e.spec.ts) run it in Chromium.
 */
export const CONSOLE_SCRIPT = String.raw`'use strict';
(() => {
  const article = document.getElementById('line');
  if (!article) return;
  const lineId = article.dataset.lineId;
  const list = document.getElementById('event-list');
  const live = document.getElementById('live-status');
  const statusBox = document.getElementById('request-status');
  const MAX_EVENTS = 50;
  const seen = new Set(Array.from(list.querySelectorAll('li[data-event-id]'), (li) => li.dataset.eventId));
  const outcomes = new Map();
  // A page opened after a plain form post (?request=…) follows that request.
  const shown = statusBox.querySelector('[data-request-id]');
  let pending = shown ? shown.dataset.requestId : null;
  let deferredForm = null;

  const fragment = (text) => {
    const template = document.createElement('template');
    template.innerHTML = text.trim();
    return template.content.firstElementChild;
  };

  // Newest first by event time (UTC ISO strings sort as text); an event already shown is skipped.
  const addEvent = (event) => {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    const after = Array.from(list.children).find((li) => li.dataset.time < event.time);
    list.insertBefore(fragment(event.html), after || null);
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  };

  // The change form is not replaced while someone is using it: its new choices wait until it closes.
  const replace = (id, text) => {
    const old = document.getElementById(id);
    if (!old) return;
    if (id === 'change-resource' && old.open) {
      deferredForm = text;
      return;
    }
    old.replaceWith(fragment(text));
    if (id === 'change-resource') bindForm();
  };

  const showOutcome = () => {
    if (pending && outcomes.has(pending)) statusBox.innerHTML = outcomes.get(pending);
  };

  const showPending = (requestId) => {
    const span = document.createElement('span');
    span.className = 'outcome outcome-pending';
    span.dataset.requestId = requestId;
    span.dataset.status = 'pending';
    const strong = document.createElement('strong');
    strong.textContent = 'pending';
    span.append('Demande ' + requestId + ' : ', strong);
    statusBox.replaceChildren(span);
  };

  const closeForm = () => {
    const details = document.getElementById('change-resource');
    if (!details) return;
    details.open = false;
    if (deferredForm) {
      const text = deferredForm;
      deferredForm = null;
      replace('change-resource', text);
    }
  };

  function bindForm() {
    const form = document.getElementById('change-form');
    if (!form || form.dataset.bound) return;
    form.dataset.bound = 'yes';
    document.getElementById('change-cancel').addEventListener('click', closeForm);
    // Preview (issue 15): on a change of #target, ask for the preview and show it in #change-preview.
    form.addEventListener('submit', async (submit) => {
      submit.preventDefault();
      const target = form.elements.targetResourceId.value;
      if (!target) return;
      const button = form.querySelector('button[type=submit]');
      button.disabled = true;
      statusBox.textContent = 'Envoi de la demande…';
      try {
        const response = await fetch(form.action, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ targetResourceId: target }),
        });
        const body = await response.json();
        if (!response.ok) {
          statusBox.textContent = 'Demande refusée : ' + ((body.error && body.error.message) || response.status);
          return;
        }
        pending = body.requestId;
        showPending(pending);
        showOutcome();
        form.reset();
        closeForm();
      } catch (error) {
        statusBox.textContent = 'La demande n’a pas pu être envoyée : ' + error.message;
      } finally {
        button.disabled = false;
      }
    });
  }
  bindForm();

  const source = new EventSource('/lines/' + encodeURIComponent(lineId) + '/live');
  source.addEventListener('open', () => { live.textContent = 'Mises à jour en direct : connecté'; live.dataset.state = 'open'; });
  source.addEventListener('error', () => { live.textContent = 'Mises à jour en direct : reconnexion…'; live.dataset.state = 'reconnecting'; });
  source.addEventListener('line-event', (message) => addEvent(JSON.parse(message.data)));
  source.addEventListener('outcome', (message) => {
    const outcome = JSON.parse(message.data);
    outcomes.set(outcome.requestId, outcome.html);
    showOutcome();
  });
  source.addEventListener('card', (message) => {
    const card = JSON.parse(message.data);
    for (const [id, text] of Object.entries(card.fragments)) replace(id, text);
  });
})();
`;
