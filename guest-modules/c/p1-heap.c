// A preview1 program whose heap grows before its first WASI call: blocks of 200 KB, 1, 16 and 200 MB are
// allocated and written in a constructor (before libc asks for arguments), then read back and printed.
#include <stdio.h>
#include <stdlib.h>

static const size_t sizes[] = {200 * 1024, 1u << 20, 16u << 20, 200u << 20};
static unsigned char *blocks[4];

__attribute__((constructor)) static void grow_first(void) {
  for (int b = 0; b < 4; b++) {
    blocks[b] = malloc(sizes[b]);
    if (!blocks[b]) return;
    for (size_t i = 0; i < sizes[b]; i += 4096) blocks[b][i] = (unsigned char)(i >> 12);
  }
}

int main(void) {
  for (int b = 0; b < 4; b++) {
    if (!blocks[b]) {
      printf("block %d: allocation failed\n", b);
      return 2;
    }
    unsigned long sum = 0;
    for (size_t i = 0; i < sizes[b]; i += 4096) sum += blocks[b][i];
    printf("block %zu bytes: sum %lu\n", sizes[b], sum);
  }
  return 0;
}
