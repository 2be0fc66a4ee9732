import { parse } from '@bytecodealliance/jco';
import { capMemories } from '../../dist/runtime/memory-limit.js';

describe('capMemories', () => {
  const memoryOf = async (wat: string, limitMb: number) => {
    const capped = capMemories(await parse(wat), limitMb);
    const instance = await WebAssembly.instantiate(capped, {});
    return instance.instance.exports.memory as WebAssembly.Memory;
  };
  it('adds a maximum to a memory that has none', async () => {
    const memory = await memoryOf('(module (memory (export "memory") 1))', 1);
    expect(memory.grow(0)).toBe(1);
    expect(() => memory.grow(16)).toThrow(RangeError);
  });
  it('lowers a larger maximum and keeps a smaller one', async () => {
    const lowered = await memoryOf('(module (memory (export "memory") 1 100))', 2); // 2 MB = 32 pages
    expect(lowered.grow(31)).toBe(1);
    expect(() => lowered.grow(1)).toThrow(RangeError);
    const small = await memoryOf('(module (memory (export "memory") 1 2))', 64);
    expect(() => small.grow(2)).toThrow(RangeError);
  });
  it('refuses a module that needs more than the limit at start', async () => {
    await expect(memoryOf('(module (memory (export "memory") 100))', 1)).rejects.toThrow(/needs 7 MB of memory at start; limits.memoryMb is 1/);
  });
});
