// Workshops: a sample network may come with guided questions (samples/workshops/<id>.json,
// named by samples/index.json's `workshop`). Each question has a hint and an answer shown on
// request; every answer can be checked in the page's views, and tests/workshop.rs checks each one
// against what the core computes, so answers cannot drift from the analysis.

let api = null; // {h, clear}

export function installWorkshop(helpers) {
  api = helpers;
}

/** Show the workshop of `sample` (from the worker's ready list), or hide the card. */
export function renderWorkshop(sample) {
  const { h, clear } = api;
  const card = document.getElementById('workshop-card');
  const list = clear(document.getElementById('workshop-list'));
  const doc = sample && sample.workshop && Array.isArray(sample.workshop.questions) ? sample.workshop : null;
  card.hidden = !doc;
  if (!doc) return;
  document.getElementById('workshop-title').textContent = String(doc.title ?? 'Workshop');
  doc.questions.forEach((q, i) => {
    const reveal = (cls, label, text) => {
      const body = h('p', { class: `ws-${cls}`, id: `ws-${cls}-${i}`, hidden: true }, String(text ?? ''));
      const button = h(
        'button',
        {
          type: 'button',
          class: `button small-button ws-show-${cls}`,
          'aria-expanded': 'false',
          'aria-controls': `ws-${cls}-${i}`,
          onclick: () => {
            body.hidden = !body.hidden;
            button.setAttribute('aria-expanded', String(!body.hidden));
            button.textContent = body.hidden ? `Show ${label}` : `Hide ${label}`;
          },
        },
        `Show ${label}`,
      );
      return [button, body];
    };
    const [hintButton, hint] = reveal('hint', 'hint', q.hint);
    const [answerButton, answer] = reveal('answer', 'answer', q.answer);
    list.appendChild(
      h('li', { class: 'ws-question' }, h('p', { class: 'ws-text' }, String(q.question ?? '')), h('div', { class: 'ws-buttons' }, q.hint ? hintButton : null, answerButton), hint, answer),
    );
  });
}
