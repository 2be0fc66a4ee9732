import { readSettings } from '../dist/settings.js';

describe('host settings', () => {
  it('paced collections are on unless WASMHOST_PACED_GC says false', () => {
    expect(readSettings({}).pacedGc).toBe(true);
    expect(readSettings({ WASMHOST_PACED_GC: 'true' }).pacedGc).toBe(true);
    expect(readSettings({ WASMHOST_PACED_GC: 'false' }).pacedGc).toBe(false);
    expect(readSettings({ WASMHOST_PACED_GC: '0' }).pacedGc).toBe(false);
  });
});
