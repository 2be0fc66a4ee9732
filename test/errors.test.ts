import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../dist/errors.js';
import { ROOT } from './helpers.js';

describe('error catalogue', () => {
  it('every error code is documented in the README with its status', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });
});
