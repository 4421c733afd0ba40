// Runs the screenshot script (scripted server) into frontend/tests/artifacts/
// and checks that it produced the four PNGs at the right sizes.
// (docs/screenshots/ is refreshed by running `node frontend/tests/screenshots.mjs`.)
// Then the feature screenshots (feature-screenshots.mjs) into
// artifacts/features/, and with UPDATE_DOCS_SCREENSHOTS=1 into docs/screenshots/ too.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { ARTIFACTS_DIR } from './helpers.mjs';
import { DOCS_SCREENSHOTS_DIR, FEATURE_SHOTS, takeFeatureScreenshots } from './feature-screenshots.mjs';
import { SIZES, THEMES, takeScreenshots } from './screenshots.mjs';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf) {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

test('screenshots: 360 and 1280 px, light and dark', { timeout: 120000 }, async () => {
  const outDir = path.join(ARTIFACTS_DIR, 'screenshots');
  const files = await takeScreenshots({ outDir });
  assert.equal(files.length, SIZES.length * THEMES.length);
  for (const size of SIZES) {
    for (const theme of THEMES) {
      const file = path.join(outDir, `chat-${theme}-${size.name}.png`);
      const buf = await readFile(file);
      assert.deepEqual(pngSize(buf), { width: size.width, height: size.height }, file);
      assert.ok(buf.length > 20000, `${file} has content (${buf.length} bytes)`);
    }
  }
});

test('feature screenshots: replies, reactions, edits, mentions, spoilers, links, unread counts', { timeout: 240000 }, async () => {
  const docsDir = process.env.UPDATE_DOCS_SCREENSHOTS === '1' ? DOCS_SCREENSHOTS_DIR : null;
  const files = await takeFeatureScreenshots({ docsDir });
  assert.equal(files.length, FEATURE_SHOTS.length);
  for (const [i, shot] of FEATURE_SHOTS.entries()) {
    const buf = await readFile(files[i]);
    assert.deepEqual(pngSize(buf), { width: shot.width, height: shot.height }, files[i]);
    assert.ok(buf.length > 20000, `${files[i]} has content (${buf.length} bytes)`);
    if (docsDir) assert.deepEqual(await readFile(path.join(docsDir, `${shot.name}.png`)), buf, 'copied to docs');
  }
});
