/** The allocator environment the image gives the module's process (Dockerfile `ENV`): benches start the module with it. */
export const IMAGE_MALLOC_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };
