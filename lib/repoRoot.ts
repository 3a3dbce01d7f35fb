import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository (or, in the image, the application) folder: the nearest one above this module that holds
 * package.json. The same from the TypeScript sources (lib/) and from the build (dist/lib/), which has none.
 */
export const repoRoot = (() => {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
})();
