// Control Center: the admin page (/admin) for operators without Confluent
// Control Center.
//
//   js/admin/dashboard.js      sign-in, the 2-second refresh loop, inspecting a room
//   js/admin/api.js            /api/admin/... with the bearer token; token and moderator name in sessionStorage
//   js/admin/login.js          token and name form, refresh status, "updated" time, who is signed in
//   js/admin/metrics-view.js   KPI tiles, errors by code, consumer lag (charts.js draws)
//   js/admin/partitions-view.js, rooms-view.js, records-view.js   the other cards
//   js/admin/moderation-center.js   moderation: reads the lists, runs the actions; its views:
//       room-tabs.js (messages / raw records), room-messages-view.js, slow-mode-view.js,
//       reports-view.js, sanctions-view.js (mutes, bans, slow modes), audit-view.js;
//       message-card.js, confirm.js (action buttons, inline confirmation), live-list.js
//   js/admin/moderation.js     the moderation requests and their bodies (pure)
//   js/admin/metrics.js, format.js   pure helpers (histogram quantiles, formatting), checked in Node
//
// Everything the server sends (record keys, headers and values are user
// text) goes into the page through textContent, never as HTML.

import { Dashboard } from './js/admin/dashboard.js';
import { initTheme } from './js/theme.js';

export { MODERATOR_KEY, RECORDS_LIMIT, TOKEN_KEY } from './js/admin/api.js';
export * from './js/admin/moderation.js';
export { REFRESH_MS } from './js/admin/dashboard.js';
export * from './js/admin/format.js';
export * from './js/admin/metrics.js';

// The page starts only in a browser (Node imports this module for the helpers).
if (typeof document !== 'undefined' && document.getElementById('dashboard')) {
  initTheme(document.getElementById('theme-toggle'));
  const dashboard = new Dashboard(document);
  dashboard.start();
  // for tests and the curious: the state, read-only
  globalThis.animeChatAdmin = {
    get signedIn() {
      return dashboard.signedIn;
    },
    get selectedRoom() {
      return dashboard.selectedRoom;
    },
    refreshNow: () => dashboard.tick(),
  };
}
