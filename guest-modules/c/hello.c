// A seed-style WASI preview1 command: each stdout line becomes a telemetry message.
#include <stdio.h>

int main(int argc, char **argv) {
  for (int i = 1; i <= 3; i++) printf("{\"line\":%d,\"args\":%d}\n", i, argc);
  fprintf(stderr, "hello: sent 3 lines\n");
  return 0;
}
