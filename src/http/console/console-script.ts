/**
 * The one script of the console (served as /console.js), no framework: the pages are rendered
 * on the server and work without it; it adds the live updates of a line's page, the preview of
 * a change as soon as a choice is made, and sends « Confirmer » and « Annuler le changement »
 * without leaving the page. It renders nothing itself: the server sends the changed fragments
 * (the same renderers as the page), and the script puts them in place. Forms are handled by
 * delegation on the document, so a fragment replaced by a live update needs no new binding.
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
  // Each preview asked gets a number: an answer to an older choice is dropped.
  let previewSeq = 0;

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
  };

  const showOutcome = () => {
    if (pending && outcomes.has(pending)) statusBox.innerHTML = outcomes.get(pending);
  };

  // Follows a request or a cancel: its pending status at once, its outcome when its event comes (maybe already).
  const follow = (id, html) => {
    pending = id;
    statusBox.innerHTML = html;
    showOutcome();
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

  const postJson = async (url, body) => {
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error((answer.error && answer.error.message) || String(response.status));
    return answer;
  };

  const choices = (form) => {
    const when = form.querySelector('input[name=when]:checked');
    return { targetResourceId: form.elements.targetResourceId.value, when: when ? when.value : 'now' };
  };

  const clearPreview = () => {
    previewSeq += 1;
    const box = document.getElementById('change-preview');
    if (!box) return;
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.outcome;
  };

  const showPreview = async (form) => {
    const box = document.getElementById('change-preview');
    const chosen = choices(form);
    if (!chosen.targetResourceId) return clearPreview();
    previewSeq += 1;
    const seq = previewSeq;
    box.hidden = false;
    box.setAttribute('aria-busy', 'true');
    try {
      const response = await fetch(form.dataset.previewUrl + '?' + new URLSearchParams(chosen), { credentials: 'same-origin', headers: { accept: 'application/json' } });
      const answer = await response.json();
      if (seq !== previewSeq) return;
      if (!response.ok) {
        box.textContent = 'Aperçu indisponible : ' + ((answer.error && answer.error.message) || response.status);
        return;
      }
      box.innerHTML = answer.html;
      box.dataset.outcome = answer.outcome;
    } catch (error) {
      if (seq === previewSeq) box.textContent = 'Aperçu indisponible : ' + error.message;
    } finally {
      if (seq === previewSeq) box.removeAttribute('aria-busy');
    }
  };

  const confirmChange = async (form) => {
    const button = form.querySelector('#change-confirm');
    button.disabled = true;
    statusBox.textContent = 'Envoi de la demande…';
    try {
      const answer = await postJson(form.action, choices(form));
      follow(answer.requestId, answer.html);
      form.reset();
      closeForm();
    } catch (error) {
      statusBox.textContent = 'La demande n’a pas pu être envoyée : ' + error.message;
    } finally {
      button.disabled = false;
    }
  };

  const cancelChange = async (form) => {
    const button = form.querySelector('button');
    button.disabled = true;
    statusBox.textContent = 'Envoi de l’annulation…';
    try {
      const answer = await postJson(form.action, { requestId: form.elements.requestId.value });
      follow(answer.cancelId, answer.html);
    } catch (error) {
      statusBox.textContent = 'L’annulation n’a pas pu être envoyée : ' + error.message;
      button.disabled = false;
    }
  };

  document.addEventListener('submit', (submit) => {
    const form = submit.target;
    if (form.id === 'change-form') {
      submit.preventDefault();
      if (submit.submitter && submit.submitter.id === 'change-preview-button') showPreview(form);
      else confirmChange(form);
    } else if (form.id === 'cancel-form') {
      submit.preventDefault();
      cancelChange(form);
    }
  });
  document.addEventListener('change', (change) => {
    const form = change.target.form;
    if (form && form.id === 'change-form') showPreview(form);
  });
  document.addEventListener('reset', (reset) => {
    if (reset.target.id !== 'change-form') return;
    clearPreview();
    closeForm();
  });

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
