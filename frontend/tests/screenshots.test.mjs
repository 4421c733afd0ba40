// Runs the screenshot script (scripted server) into frontend/tests/artifacts/
// and checks that it produced the four PNGs at the right sizes.
// (docs/screenshots/ is refreshed by running `node frontend/tests/screenshots.mjs`.)

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { ARTIFACTS_DIR } from './helpers.mjs';
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
