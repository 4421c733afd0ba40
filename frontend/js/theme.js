// Light / dark theme. The light palette's <link data-theme-sheet="light">
// starts with media="(prefers-color-scheme: light)", so the first paint
// follows the system before any script ran; from here on its media is "all"
// or "not all". Once the user picks a theme with the toggle, the choice is
// stored in localStorage and wins over the system setting on every later
// visit. `data-theme` on <html> is set too, for the few component rules
// that differ between themes beyond the palette.

export const THEME_STORAGE_KEY = 'anime-chat-theme';

function storedTheme() {
  try {
    const value = globalThis.localStorage?.getItem(THEME_STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : null;
  } catch {
    return null; // storage blocked (privacy mode): just follow the system
  }
}

function systemTheme() {
  return globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/**
 * Wire the toggle button.
 * @param {HTMLButtonElement} button
 * @param {Document} [doc]
 * @returns {{ get: () => 'light' | 'dark', set: (theme: 'light' | 'dark') => void }}
 */
export function initTheme(button, doc = document) {
  const root = doc.documentElement;
  const meta = doc.querySelector('meta[name="theme-color"]');

  const apply = (theme) => {
    root.dataset.theme = theme;
    for (const sheet of doc.querySelectorAll('link[data-theme-sheet]')) {
      sheet.media = sheet.dataset.themeSheet === theme ? 'all' : 'not all';
    }
    const other = theme === 'dark' ? 'light' : 'dark';
    button.setAttribute('aria-label', `Switch to ${other} theme`);
    button.title = `Switch to ${other} theme`;
    button.dataset.theme = theme;
    if (meta) meta.setAttribute('content', theme === 'dark' ? '#0d0826' : '#f6f0ff');
  };

  apply(storedTheme() ?? systemTheme());

  // Follow the system while the user has not chosen.
  const media = globalThis.matchMedia?.('(prefers-color-scheme: dark)');
  media?.addEventListener?.('change', () => {
    if (!storedTheme()) apply(systemTheme());
  });

  const set = (theme) => {
    try {
      globalThis.localStorage?.setItem(THEME_STORAGE_KEY, theme);
    } catch {
      /* not persisted; still applied */
    }
    apply(theme);
  };

  button.addEventListener('click', () => {
    set(root.dataset.theme === 'dark' ? 'light' : 'dark');
  });

  return { get: () => root.dataset.theme, set };
}
