// The samples are projects of the developer loop: their own tests (tests/*.test.json) pass against the
// components `npm run build:guests` built from them with `wasmhost build`'s code.
import { join } from 'node:path';
import { readProject, testProject } from '../../dist/devloop/index.js';
import { ROOT } from '../helpers.js';

describe.each(['temperature-sensor', 'threshold-filter'])('sample %s', (name) => {
  it('passes its own tests', async () => {
    const report = await testProject(readProject(join(ROOT, 'guest-modules', name)));
    expect(report.lines.join('\n')).not.toContain('FAIL');
    expect(report).toMatchObject({ failed: 0, passed: expect.any(Number) });
    expect(report.passed).toBeGreaterThan(0);
  }, 60_000);
});
