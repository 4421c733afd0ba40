// The quote of a message being answered: its author and a preview of its
// text, spoilers blurred. Above a reply in the list (a button that scrolls
// to the quoted message) and above the message box while replying.

import { el, icon } from '../dom.js';
import { tokenize } from '../text.js';
import { renderParts } from './rich-text.js';

/**
 * The preview's nodes. A preview the server cut short may end inside a
 * spoiler: then the rest stays hidden (openSpoiler).
 * @param {{username: string, text: string, deleted: boolean, known: boolean}} quote
 * @param {{names?: string[], me?: string}} [ctx]
 */
export function quoteContent(quote, ctx = {}) {
  const author = el('span', { class: 'quote__author', dataset: { testid: 'quote-author' }, text: quote.known ? quote.username || 'Anonymous' : 'Earlier message' });
  let preview;
  if (quote.deleted) preview = el('span', { class: 'quote__text quote__text--gone', dataset: { testid: 'quote-text' }, text: 'message deleted' });
  else if (!quote.known) preview = el('span', { class: 'quote__text quote__text--gone', dataset: { testid: 'quote-text' }, text: 'not loaded here' });
  else {
    const parts = tokenize(quote.text, { ...ctx, openSpoiler: true });
    preview = el('span', { class: 'quote__text', dataset: { testid: 'quote-text' } }, ...renderParts(parts, { interactive: false }));
  }
  return [icon('reply', 'icon quote__icon'), author, preview];
}

/** Above a reply in the list. */
export function renderQuote(quote, ctx) {
  if (!quote) return null;
  return el(
    'button',
    {
      type: 'button',
      class: 'quote',
      dataset: { testid: 'reply-quote', action: 'quote', offset: String(quote.offset) },
      title: 'Show the message this answers',
    },
    el('span', { class: 'sr-only', text: 'In reply to ' }),
    ...quoteContent(quote, ctx),
  );
}
